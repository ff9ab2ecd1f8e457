
say() { printf 'obplay: %s\n' "$*"; }
fail() { rc=$1; shift; say "FAILED: $*"; exit "$rc"; }
# clean_path P: P is absolute, not /, and has no empty, . or .. segment
clean_path() {
  case $1/ in /[!/]*) ;; *) return 1 ;; esac
  case $1/ in *//*|*/./*|*/../*) return 1 ;; esac
}
# check_home: refuse unless the home is a clean absolute path, also once resolved on this host; REAL_HOME is
# the home with its symlinks resolved (processes show that path as their cwd and exe); SKIP holds this script
# and the processes that started it (say, the ssh session's shell), never counted as the server's
check_home() {
  clean_path "$HOME_DIR" || fail 3 "refusing: home '$HOME_DIR' is not a clean absolute path below /"
  REAL_HOME=$(cd -P -- "$HOME_DIR" 2>/dev/null && pwd -P) || REAL_HOME=$(readlink -f -- "$HOME_DIR" 2>/dev/null) || REAL_HOME=
  [ -n "$REAL_HOME" ] || REAL_HOME=$HOME_DIR
  clean_path "$REAL_HOME" || fail 3 "refusing: home $HOME_DIR really is '$REAL_HOME', not a clean absolute path below /"
  [ "$REAL_HOME" = "$HOME_DIR" ] || say "home $HOME_DIR is $REAL_HOME once symlinks are resolved: processes are matched against both"
  case $(printf '\001\000' | od -An -tx2 2>/dev/null) in *0100*) LE=0 ;; *) LE=1 ;; esac
  SKIP=' '; a=$$
  while [ "$a" -gt 1 ] 2>/dev/null; do
    SKIP="$SKIP$a "; status_of "$a" PPid; a=$SV
  done
  OWN='' HOST_KEYS='' HOST_KEYS_READ=0
  HOME_UIDS=" $(id -u) $(stat -c %u -- "$REAL_HOME" 2>/dev/null) "
  # home_candidates reads every cwd and exe link in one pass with GNU find, when it is there and the home has no
  # newline; decided once, not on every poll
  FIND_LINKS=0
  if find /proc/self/cwd -maxdepth 0 -printf '' 2>/dev/null && [ "$(printf '%s%s' "$HOME_DIR" "$REAL_HOME" | wc -l)" -eq 0 ]; then
    FIND_LINKS=1
  fi
}
# status_of PID FIELD: SV = the first word of FIELD in /proc/PID/status, '' when there is none; read by the shell
# itself, without starting a process (the stop and start scripts ask this several times a second)
status_of() {
  SV=
  [ -r "/proc/$1/status" ] || return 0
  while read -r so_k so_v _; do
    if [ "$so_k" = "$2:" ]; then SV=$so_v; return 0; fi
  done 2>/dev/null < "/proc/$1/status"
}
in_home() {
  case $1 in "$REAL_HOME"|"$REAL_HOME"/*|"$REAL_HOME (deleted)"|"$HOME_DIR"|"$HOME_DIR"/*) return 0 ;; esac
  return 1
}
# alive PID: the process exists and is not a zombie
alive() {
  status_of "$1" State
  case $SV in ''|Z|X) return 1 ;; esac
}
# ours PID: the process is alive, its cwd or exe lies in the home and it runs as the server's user; sets CWD
# and EXE either way
ours() {
  CWD=$(readlink "/proc/$1/cwd" 2>/dev/null); EXE=$(readlink "/proc/$1/exe" 2>/dev/null)
  { in_home "$CWD" || in_home "$EXE"; } && alive "$1" && same_user "$1"
}
# same_user PID: PID runs as the login user, as the owner of the home, or as the owner of its cwd or exe in
# the home; a process of another user (a log shipper working in the log dir) is someone else's
same_user() {
  status_of "$1" Uid; su_u=$SV
  [ -n "$su_u" ] || return 1
  case $HOME_UIDS in *" $su_u "*) return 0 ;; esac
  for su_f in "$CWD" "$EXE"; do
    if in_home "$su_f" && [ "$(stat -c %u -- "$su_f" 2>/dev/null)" = "$su_u" ]; then return 0; fi
  done
  return 1
}
# user_of PID: the name (else the number) of the user the process runs as
user_of() {
  status_of "$1" Uid; uo=$SV
  getent passwd "$uo" 2>/dev/null | awk -F: '{ print $1; exit }' | grep . || printf '%s\n' "${uo:-?}"
}
ppid_of() { status_of "$1" PPid; [ -z "$SV" ] || printf '%s\n' "$SV"; }
comm_of() { cat "/proc/$1/comm" 2>/dev/null || printf '?'; }
# describe PID: the process in words: exe, cwd, name, user and parent
describe() {
  ours "$1"; dp=$(ppid_of "$1")
  printf 'pid %s (exe %s, cwd %s, name %s, user %s, parent pid %s %s)' "$1" "${EXE:-?}" "${CWD:-?}" "$(comm_of "$1")" \
    "$(user_of "$1")" "${dp:-?}" "$(comm_of "${dp:-0}")"
}
# read_pid FILE: PID = the pid in FILE; returns 1 if there is no FILE, 2 if it holds no pid
read_pid() {
  PID=
  [ -e "$1" ] || [ -L "$1" ] || return 1
  PID=$(sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1" 2>/dev/null)
  case $PID in ''|0*|*[!0-9]*) return 2 ;; esac
  [ ${#PID} -le 10 ] || return 2
}
# whose PID FILE: WHOSE is dead, ours (cwd or exe in the home), other (proved someone else's: its cwd is
# readable and lies elsewhere, or it runs as another user than the one owning FILE) or unknown; WHY says so
whose() {
  if ! alive "$1"; then WHOSE=dead; WHY="pid $1 is not running"; return 0; fi
  if ours "$1"; then WHOSE=ours; WHY="cwd $CWD, exe ${EXE:-?}"; return 0; fi
  wu=$(user_of "$1")
  if [ -n "$CWD" ]; then
    WHOSE=other; WHY="exe ${EXE:-?}, cwd $CWD, user $wu"
    if in_home "$CWD" || in_home "$EXE"; then WHY="$WHY: another user than the server's"; fi
    return 0
  fi
  wf=$(stat -c %u -- "$2" 2>/dev/null)
  status_of "$1" Uid
  if [ -n "$wf" ] && [ "$wf" != "$SV" ]; then
    WHOSE=other; WHY="it runs as user $wu, the pid file belongs to user id $wf"; return 0
  fi
  WHOSE=unknown; WHY="which runs as user $wu and whose cwd and exe user $(id -un 2>/dev/null) cannot read: obplay cannot tell whose it is"
}
# ADDR_AWK: awk functions for addresses. A key is an address as upper-case hex in network order: 8 digits for
# IPv4 (and IPv4-mapped IPv6), 32 for IPv6
ADDR_AWK='
function hexval(s,  i, v) { v = 0; s = toupper(s); for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1; return v }
function swap(w) { return substr(w, 7, 2) substr(w, 5, 2) substr(w, 3, 2) substr(w, 1, 2) }
function mapped(k) { return substr(k, 1, 24) == "00000000000000000000FFFF" ? substr(k, 25) : k }
function wild(k) { return k == "00000000" || k == "00000000000000000000000000000000" }
function procaddr(h,  k, i) {
  if (length(h) == 8) return le ? swap(h) : h
  k = ""; for (i = 0; i < 4; i++) k = k (le ? swap(substr(h, i * 8 + 1, 8)) : substr(h, i * 8 + 1, 8))
  return mapped(k)
}
function v4(t,  a, i, k) {
  if (split(t, a, ".") != 4) return ""
  k = ""; for (i = 1; i <= 4; i++) { if (a[i] !~ /^[0-9]+$/ || a[i] + 0 > 255) return ""; k = k sprintf("%02X", a[i] + 0) }
  return k
}
function grp(g) { if (g !~ /^[0-9A-Fa-f]+$/ || length(g) > 4) return ""; return toupper(substr("000" g, length(g), 4)) }
function textaddr(t,  p, q, n, parts, a, b, nh, nt, i, g, k) {
  sub(/^\[/, "", t); sub(/\]$/, "", t); sub(/%.*/, "", t)
  if (t !~ /:/) return v4(t)
  if (t ~ /\./) { p = t; sub(/.*:/, "", p); q = v4(p); if (q == "") return ""; t = substr(t, 1, length(t) - length(p)) substr(q, 1, 4) ":" substr(q, 5, 4) }
  n = split(t, parts, "::"); if (n > 2) return ""
  nh = parts[1] == "" ? 0 : split(parts[1], a, ":")
  nt = n == 2 && parts[2] != "" ? split(parts[2], b, ":") : 0
  if ((n == 1 && nh != 8) || (n == 2 && nh + nt > 7)) return ""
  k = ""
  for (i = 1; i <= nh; i++) { g = grp(a[i]); if (g == "") return ""; k = k g }
  if (n == 2) for (i = nh + nt; i < 8; i++) k = k "0000"
  for (i = 1; i <= nt; i++) { g = grp(b[i]); if (g == "") return ""; k = k g }
  return mapped(k)
}
function show(k,  i, g, out, best, bl, run, rs) {
  if (length(k) == 8) return hexval(substr(k, 1, 2)) "." hexval(substr(k, 3, 2)) "." hexval(substr(k, 5, 2)) "." hexval(substr(k, 7, 2))
  bl = 0; run = 0
  for (i = 0; i < 8; i++) {
    g[i] = tolower(substr(k, i * 4 + 1, 4)); sub(/^0+/, "", g[i]); if (g[i] == "") g[i] = "0"
    if (g[i] == "0") { if (!run) rs = i; run++; if (run > bl) { bl = run; best = rs } } else run = 0
  }
  out = ""
  for (i = 0; i < 8; i++) {
    if (bl >= 2 && i == best) { out = out "::"; i += bl - 1; continue }
    out = out (out == "" || out ~ /:$/ ? "" : ":") g[i]
  }
  return out
}'
# own_addrs PID...: OWN = the keys of the server's own addresses: its inventory host and what that resolves to
# on this host, and every address the given live processes LISTEN on (their /proc/PID/fd and /proc/net/tcp*)
own_addrs() {
  oa_ino=
  for oa_p in "$@"; do
    # shellcheck disable=SC2012
    oa_ino="$oa_ino $(ls -l "/proc/$oa_p/fd" 2>/dev/null | awk -F'socket:[[]' 'NF > 1 { sub(/[]].*/, "", $2); printf " %s", $2 }')"
  done
  if [ "$HOST_KEYS_READ" = 0 ]; then  # the inventory host and what it resolves to: looked up once
    HOST_KEYS_READ=1 HOST_KEYS=$({ printf '%s\n' "$HOST"; getent ahosts "$HOST" 2>/dev/null | awk '{ print $1 }'; } | awk "$ADDR_AWK"'
      { k = textaddr($1); if (k != "") print k }')
  fi
  OWN=$({
    [ -z "$HOST_KEYS" ] || printf '%s\n' "$HOST_KEYS"
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v le="$LE" -v ino="$oa_ino" "$ADDR_AWK"'
      BEGIN { n = split(ino, x, " "); for (i = 1; i <= n; i++) want[x[i]] = 1 }
      $4 == "0A" && ($10 in want) { print procaddr(substr($2, 1, index($2, ":") - 1)) }'
  } | awk '!($1 in s) { s[$1] = 1; o = o (o == "" ? "" : " ") $1 } END { print o }')
  OWN_SHOWN=$(awk -v own="$OWN" "$ADDR_AWK"'BEGIN { n = split(own, x, " "); for (i = 1; i <= n; i++) o = o (i > 1 ? ", " : "") show(x[i]); print o }')
}
# ports_listen [own|foreign|inodes]: the LISTEN sockets on PORTS, as "PORT on ADDRESS, ...": with own (the
# default) on one of OWN or a wildcard address, with foreign on any other address (someone else's); with
# inodes, the socket inodes of the own ones
ports_listen() {
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v le="$LE" -v ports="$PORTS" -v own="$OWN" -v mode="${1:-own}" "$ADDR_AWK"'
    BEGIN { n0 = split(ports, p, " "); for (i = 1; i <= n0; i++) want[p[i]] = 1; n = split(own, o, " "); for (i = 1; i <= n; i++) mine[o[i]] = 1 }
    $4 == "0A" {
      c = index($2, ":"); port = hexval(substr($2, c + 1)); if (!(port in want)) next
      k = procaddr(substr($2, 1, c - 1)); is = wild(k) || (k in mine)
      if (mode == "inodes") { if (is) out = out " " $10; next }
      if ((mode == "own") != is) next
      l = port " on " show(k); if (!(l in seen)) { seen[l] = 1; at[port] = at[port] (at[port] == "" ? "" : ", ") l }
    }
    END {
      if (mode == "inodes") { print substr(out, 2); exit }
      for (i = 1; i <= n0; i++) if (p[i] in at) out = out (out == "" ? "" : ", ") at[p[i]]
      print out
    }'
}
# holders: say which processes hold the server's own LISTEN sockets; HOLDER is the first, in words
holders() {
  HOLDER=''
  ho=$(ports_listen inodes)
  [ -n "$ho" ] || return 0
  # shellcheck disable=SC2012
  for hp in $(ls -l /proc/[0-9]*/fd 2>/dev/null | awk -v ino="$ho" '
      BEGIN { n = split(ino, x, " "); for (i = 1; i <= n; i++) want["socket:[" x[i] "]"] = 1 }
      /^\/proc\/[0-9]+\/fd:$/ { split($0, f, "/"); pid = f[3]; next }
      ($NF in want) && !(pid in seen) { seen[pid] = 1; print pid }'); do
    say "it is held by $(describe "$hp")"
    [ -n "$HOLDER" ] || HOLDER="pid $hp ($(comm_of "$hp"), parent pid $(ppid_of "$hp") $(comm_of "$(ppid_of "$hp")"))"
  done
}
# report_foreign: say which listeners on PORTS are someone else's (another address): not waited for
report_foreign() {
  rf=$(ports_listen foreign)
  [ -z "$rf" ] || say "port(s) [$rf] LISTEN on addresses that are not $NAME's ($OWN_SHOWN or a wildcard address): someone else's, not waited for"
}
# home_procs: the pids of live processes whose cwd or exe lies in the home (declared or resolved), but SKIP
home_procs() {
  hp=
  for p in $(home_candidates); do
    case $SKIP in *" $p "*) continue ;; esac
    if ours "$p"; then hp="$hp $p"; fi
  done
  printf '%s' "${hp# }"
}
# home_candidates: pids that may have their cwd or exe in the home (home_procs proves each with ours):
# with GNU find, those whose cwd or exe link starts there, read in one pass; else every pid
home_candidates() {
  if [ "$FIND_LINKS" = 1 ]; then
    find /proc/[0-9]*/cwd /proc/[0-9]*/exe -maxdepth 0 -printf '%p %l\n' 2>/dev/null | H=$HOME_DIR R=$REAL_HOME awk '
      function under(l, d) { return l == d || index(l, d "/") == 1 || l == d " (deleted)" }
      { i = index($0, " "); link = substr($0, i + 1) }
      under(link, ENVIRON["H"]) || under(link, ENVIRON["R"]) {
        split(substr($0, 1, i - 1), f, "/"); if (f[3] ~ /^[0-9]+$/ && !(f[3] in seen)) { seen[f[3]] = 1; print f[3] }
      }'
  else
    for pd in /proc/[0-9]*; do printf '%s\n' "${pd#/proc/}"; done
  fi
}
# refuse_if_running PIDFILE...: refuse (exit 3) while a pid file names a live process of the server (or one
# obplay cannot account for), a process runs under the home, or one of PORTS LISTENs on the server's addresses
refuse_if_running() {
  for f in "$@"; do
    read_pid "$f"
    case $? in
      0) whose "$PID" "$f"
         case $WHOSE in
           ours) fail 3 "refusing to delete anything: $NAME runs, pid $PID from $f" ;;
           unknown) fail 3 "refusing to delete anything: pid file $f names pid $PID, $WHY" ;;
         esac ;;
      2) say "pid file $f does not hold a pid: the scan below decides" ;;
    esac
  done
  procs=$(home_procs)
  # shellcheck disable=SC2086
  own_addrs $procs
  busy=$(ports_listen)
  report_foreign
  for p in $procs; do say "running under $HOME_DIR: $(describe "$p")"; done
  [ -z "$procs$busy" ] || fail 3 "refusing to delete anything while $NAME runs: pid(s) [${procs:-none}] under $HOME_DIR, port(s) [${busy:-none}] LISTEN"
  say "$NAME is not running: nothing runs under $HOME_DIR, no port LISTENs"
}
