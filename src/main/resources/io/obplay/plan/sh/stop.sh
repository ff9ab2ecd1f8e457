now() { read -r up _ < /proc/uptime; NOW=$(( ${up%.*} * 100 + 1${up#*.} - 100 )); }  # in 1/100 s
secs() { printf '%d.%ds' $(( $1 / 100 )) $(( $1 % 100 / 10 )); }
bad_pid_file() { fail 1 "pid file $1 does not hold a pid: '$(head -c 64 -- "$1" 2>/dev/null | tr -c '[:print:]' '?')'"; }
# proved PID WHAT: PID is still this server's WHAT (obproxyd: is_daemon too)
proved() { ours "$1" || { [ "$2" = obproxyd ] && is_daemon "$1"; }; }
# send SIGNAL PID WHAT [group]: send SIGNAL to PID if it is still proved (to its process group with "group",
# when PID leads it)
send() {
  proved "$2" "$3" || return 0
  if [ "${4:-}" = group ] && [ "$(sed 's/.*) //' "/proc/$2/stat" 2>/dev/null | awk '{ print $3 }')" = "$2" ]; then
    say "sending $1 to the process group of $3 pid $2"; kill -s "$1" -- "-$2" 2>/dev/null
  else
    say "sending $1 to $3 pid $2"; kill -s "$1" "$2" 2>/dev/null
  fi || ! alive "$2" || fail 1 "could not send $1 to $3 pid $2"
}
# find_servers WHAT FILE...: SPIDS = the live processes of the server that the pid files name, once proved
find_servers() {
  fs_what=$1; shift
  for f in "$@"; do
    read_pid "$f"
    case $? in 1) say "no pid file $f"; continue ;; 2) bad_pid_file "$f" ;; esac
    whose "$PID" "$f"
    case $WHOSE in
      ours) say "$fs_what pid $PID is this server's ($WHY), from $f"; case " ${SPIDS:-} " in *" $PID "*) ;; *) SPIDS="${SPIDS:-} $PID"; SPIDS=${SPIDS# } ;; esac ;;
      dead) say "stale pid file $f: pid $PID is not running" ;;
      other) say "pid file $f names pid $PID, which is not this server's ($WHY): not signalling it" ;;
      unknown) fail 3 "refusing to signal anything: pid file $f names pid $PID, $WHY; the pid file is kept" ;;
    esac
  done
}
# descends PID: PID is a child (or later descendant) of one of SPIDS and DPIDS, or in the process group of one
descends() {
  ds_p=$1
  ds_g=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $3 }')
  case " ${SPIDS:-} ${DPIDS:-} " in *" $ds_g "*) return 0 ;; esac
  while [ "$ds_p" -gt 1 ] 2>/dev/null; do
    ds_p=$(ppid_of "$ds_p")
    case " ${SPIDS:-} ${DPIDS:-} " in *" $ds_p "*) return 0 ;; esac
  done
  return 1
}
# descendants PID: the live children of PID, and theirs, whose cwd or exe lies in the home (not those of the
# server's own pids, SPIDS, which are stopped as the server)
descendants() {
  for cp in $(home_procs); do
    cq=$cp
    while [ "$cq" -gt 1 ] 2>/dev/null; do
      cq=$(ppid_of "$cq")
      case " ${SPIDS:-} " in *" $cq "*) break ;; esac
      if [ "$cq" = "$1" ]; then printf '%s ' "$cp"; break; fi
    done
  done
}
# freeze PID WHAT: STOP PID (once proved) and wait up to 1 s until it is stopped, so that it forks nothing
# more while its descendants are read
freeze() {
  send STOP "$1" "$2"
  fz_n=0
  while [ "$fz_n" -lt 10 ] && alive "$1"; do
    status_of "$1" State
    case $SV in T|t) return 0 ;; esac
    fz_n=$((fz_n + 1)); sleep 0.1
  done
}
# gone PID...: none of them is alive
gone() { for gp in "$@"; do if alive "$gp"; then return 1; fi; done; }
# wait_gone LIMIT pids|ports PID...: poll every 0.1 s, up to LIMIT/100 s, until every PID is gone (or a
# zombie) and, with "ports", none of PORTS LISTENs on the server's addresses; fails (1) at once when a process of
# the server that obplay did not know of starts under the home (a respawn); returns 1 on timeout
wait_gone() {
  now; wg_end=$((NOW + $1)); wg_m=$2; shift 2; wg_n=0
  while ! gone "$@" || { [ "$wg_m" = ports ] && [ -n "$(ports_listen)" ]; }; do
    wg_n=$((wg_n + 1))
    if [ $((wg_n % 5)) -eq 0 ] && gone "$@"; then check_respawn; fi
    now; [ "$NOW" -lt "$wg_end" ] || return 1
    sleep 0.1
  done
}
# check_respawn: fail (1) when a process runs under the home that was not there at the start and is no child
# of the server's
check_respawn() {
  for cr in $(home_procs); do
    case " $KNOWN " in *" $cr "*) continue ;; esac
    descends "$cr" || came_back "$cr" ""
  done
}
# came_back PIDS PORTS: fail (1) naming what runs again
came_back() {
  for cb in $1; do say "came back: $(describe "$cb")"; done
  HOLDER=''
  if [ -n "$2" ]; then say "port(s) [$2] LISTEN again"; holders; fi
  cb=${1%% *}
  if [ -n "$cb" ]; then
    fail 1 "not stopped: pid $cb ($(comm_of "$cb"), parent pid $(ppid_of "$cb") $(comm_of "$(ppid_of "$cb")")) runs under $HOME_DIR again${2:+, port(s) [$2] LISTEN}"
  fi
  fail 1 "not stopped: port(s) [$2] LISTEN again on $NAME's addresses${HOLDER:+, held by $HOLDER}"
}
# settle: for SETTLE/100 s, poll every 0.5 s, and once more at its end: fail (1) as soon as a process runs under
# the home or one of PORTS LISTENs on the server's addresses
settle() {
  now; st_end=$((NOW + SETTLE))
  while :; do
    st_p=$(home_procs); st_b=$(ports_listen)
    [ -z "$st_p$st_b" ] || came_back "$st_p" "$st_b"
    now; [ "$NOW" -lt "$st_end" ] || return 0
    if [ $((st_end - NOW)) -lt 50 ]; then sleep "0.$((st_end - NOW + 10))"; else sleep 0.5; fi
  done
}
# tidy_pid_files FILE...: remove each pid file whose pid is proved dead or someone else's; keep the others
tidy_pid_files() {
  for f in "$@"; do
    read_pid "$f" || continue
    whose "$PID" "$f"
    case $WHOSE in
      dead|other) if rm -f -- "$f"; then say "removed pid file $f"; else say "warning: could not remove pid file $f"; fi ;;
      *) say "kept pid file $f: pid $PID ($WHY)" ;;
    esac
  done
}
# stop_found WHAT SIGNAL pid|group: stop what find_servers and find_daemons found: refuse (3) while processes
# run under the home that are none of them nor their children, or ports LISTEN that no pid file accounts for;
# KILL the watchdogs first; SIGNAL the server, KILL it once GRACE is over; then wait for every one of them to be
# gone and PORTS released, and for SETTLE more; DONE says how it went
stop_found() {
  now; t0=$NOW
  kids='' others=''
  for p in $(home_procs); do
    case " ${SPIDS:-} ${DPIDS:-} " in *" $p "*) continue ;; esac
    if descends "$p"; then kids="$kids $p"; else others="$others $p"; fi
  done
  KNOWN="${SPIDS:-} ${DPIDS:-} $kids $others"
  # shellcheck disable=SC2086
  own_addrs ${SPIDS:-} ${DPIDS:-} $kids
  say "$NAME's addresses: ${OWN_SHOWN:-none} (and any wildcard address)"
  busy=$(ports_listen)
  report_foreign
  # a process that has exited since it was listed (a watchdog's short-lived child) is nobody's: only those still
  # there and still under the home refuse the stop
  still=''
  for p in $others; do
    if [ -d "/proc/$p" ] && ours "$p"; then still="$still $p"; fi
  done
  others=${still# }
  if [ -n "$others" ] || { [ -z "${SPIDS:-}" ] && [ -n "$busy" ]; }; then
    for p in $others; do say "running under $HOME_DIR: $(describe "$p")"; done
    [ -z "$busy" ] || holders
    if [ -z "${SPIDS:-}" ]; then
      fail 3 "refusing to signal anything: $1 has no valid pid file, yet pid(s) [${others:-none}] run under $HOME_DIR and port(s) [${busy:-none}] LISTEN"
    fi
    fail 3 "refusing to signal anything: pid(s) [$others] run under $HOME_DIR and are neither $1 pid(s) [$SPIDS] from its pid file, nor its watchdog, nor their children: stop them first"
  fi
  if [ -z "${SPIDS:-}${DPIDS:-}$kids" ]; then
    settle
    DONE="$1 $NAME already stopped: nothing runs under $HOME_DIR, no port LISTENs (for the $(secs "$SETTLE") settle period)"
    return 0
  fi
  for d in ${DPIDS:-}; do
    freeze "$d" obproxyd
    sf_k=$(descendants "$d")
    send KILL "$d" obproxyd
    for k in $sf_k; do case " ${SPIDS:-} " in *" $k "*) ;; *) send KILL "$k" "child of obproxyd" ;; esac; done
  done
  # shellcheck disable=SC2086
  [ -z "${DPIDS:-}" ] || wait_gone "$KILL_WAIT" pids $DPIDS || fail 4 "timed out: obproxyd pid(s) [$(for d in $DPIDS; do alive "$d" && printf '%s ' "$d"; done)] still run"
  for p in ${SPIDS:-}; do send "$2" "$p" "$1" "$3"; done
  # shellcheck disable=SC2086
  if [ "$2" = TERM ] && ! wait_gone "$GRACE" ports ${SPIDS:-}; then
    for p in ${SPIDS:-}; do
      if alive "$p"; then say "$1 pid $p still runs after the $(secs "$GRACE") grace period"; send KILL "$p" "$1" "$3"; fi
    done
  fi
  # shellcheck disable=SC2086
  if ! wait_gone "$KILL_WAIT" ports ${SPIDS:-} $kids; then
    for p in $(home_procs); do say "running under $HOME_DIR: $(describe "$p")"; done
    for p in ${SPIDS:-} $kids; do if alive "$p"; then fail 4 "timed out: $1 pid $p still runs"; fi; done
    busy=$(ports_listen); holders
    fail 4 "timed out: $1 pid(s) [${SPIDS:-}] gone but port(s) [$busy] still LISTEN"
  fi
  settle
  now; DONE="stopped $NAME pid ${SPIDS:-none} in $(secs $((NOW - t0))); then nothing ran under $HOME_DIR and no port LISTENed for the $(secs "$SETTLE") settle period"
}
