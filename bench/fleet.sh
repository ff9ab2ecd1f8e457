#!/usr/bin/env bash
# The fleet benchmark (issue 5): stop N demo observers on N real OpenSSH hosts, three ways.
#
#   bench/fleet.sh [--sizes 20,100,200] [--reps 3] [--variants 1,3] [--contenders obplay,ansible,pssh]
#                  [--root /tmp/obplay-fleet] [--out bench/fleet/results] [--keep]
#   bench/fleet.sh --smoke       # N=3, 1 repetition, both variants, all contenders; exit 1 on any failure
#   bench/fleet.sh --report DIR  # tables and chart again from DIR/runs.tsv
#   bench/fleet.sh --hold N      # start the fleet and N observers, print how to run each contender, wait
#                                # (for profiling; Ctrl-C ends everything)
#
# One machine plays the fleet: host i (i = 2..N+1) is an sshd on NET.i:SSH_PORT (127.0.0.i:22220 by
# default), with its own host key, pid file and log, and a stand-in observer
# (examples/standin/standin.py serve) with its own home ROOT/h<i>/oceanbase and ports BASE+2i, BASE+2i+1,
# bound to NET.i, running as the login user (obplay, shell /bin/sh, made by .ci/setup.sh; when this
# script is not run by root: the current user). Every contender logs in as that user with the same
# key (ROOT/key/id_ed25519) and the same known_hosts (ROOT/known_hosts, strict checking):
#
#   obplay   obplay run --yes -i ROOT/inv/obplay-N.yaml bench/fleet/obplay/stop.yaml --forks N
#            --state-dir RUN/state   (a fresh state directory per run: every run creates its SQLite store)
#   ansible  ansible-playbook -f N with pipelining, ControlMaster=auto + ControlPersist=60s, facts off,
#            interpreter fixed (no discovery); bench/fleet/ansible/stop.yml: a shell task running
#            bench/fleet/steps/stop.sh; control masters are ended after each run, so every run
#            starts cold, as obplay's does
#   pssh     parallel-ssh -p N running the same bench/fleet/steps/stop.sh: the floor
#
# The 3-step variant adds a cleanup (the log directory) and a shell step: obplay stop3.yaml (3 stages,
# one session per host), Ansible stop3.yml (3 tasks), pssh three calls in a row.
#
# Each (N, variant) runs every contender REPS times, the order rotating each repetition; before each run
# every observer is (re)started and checked; after it, every observer's pid must be gone and its ports
# free (and, 3-step, its log directory gone), else the run counts as failed. Measured per run: wall time
# (command start to exit; obplay's includes JVM start-up), CPU seconds of the controller's whole process
# tree (a cgroup's CPU counter, which includes Ansible's daemonized ssh control masters; /usr/bin/time's
# user+sys when no cgroup can be made), peak RSS of its largest process (/usr/bin/time %M) and peak RSS
# summed over the tree (sampled every 0.5 s when a cgroup exists).
#
# Results: OUT/runs.tsv (one line per run), OUT/summary.txt and OUT/summary.md (medians and ratios),
# OUT/fleet.svg (wall time vs N). Everything started is ended on exit (trap), ROOT is removed unless
# --keep. Running it again first ends whatever a killed earlier run under the same ROOT left behind.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$REPO/bench/fleet

SIZES="20,100,200"
REPS=3
VARIANTS="1,3"
CONTENDERS="obplay,ansible,pssh"
ROOT=/tmp/obplay-fleet
OUT=""
NET=127.0.0
SSH_PORT=22220
BASE_PORT=21000
KEEP=0
SMOKE=0
REPORT_ONLY=""
SETTLE=1
HOLD=""

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --variants) VARIANTS=$2; shift 2 ;;
    --contenders) CONTENDERS=$2; shift 2 ;;
    --root) ROOT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --net) NET=$2; shift 2 ;;
    --ssh-port) SSH_PORT=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --smoke) SMOKE=1; shift ;;
    --report) REPORT_ONLY=$2; shift 2 ;;
    --hold) HOLD=$2; SIZES=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "fleet.sh: unknown argument $1" >&2; usage 1 >&2 ;;
  esac
done

if [ -n "$REPORT_ONLY" ]; then
  exec python3 "$BENCH/report.py" "$REPORT_ONLY"
fi

if [ "$SMOKE" = 1 ]; then
  SIZES=3
  REPS=1
  SETTLE=0
fi
[ -n "$OUT" ] || { if [ "$SMOKE" = 1 ]; then OUT=$ROOT-smoke-results; else OUT=$BENCH/results; fi; }

T0=$(date +%s.%N)
say() { printf 'fleet: [%6ss] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$*" >&2; }
die() { echo "fleet: ERROR: $*" >&2; exit 1; }

IFS=, read -r -a SIZE_LIST <<<"$SIZES"
IFS=, read -r -a VARIANT_LIST <<<"$VARIANTS"
IFS=, read -r -a CONTENDER_LIST <<<"$CONTENDERS"
MAXN=0
for n in "${SIZE_LIST[@]}"; do
  case $n in ''|*[!0-9]*) die "bad size '$n'" ;; esac
  if [ "$n" -lt 1 ] || [ "$n" -gt 250 ]; then die "sizes must be 1..250 (hosts are $NET.2 .. $NET.251), not $n"; fi
  [ "$n" -gt "$MAXN" ] && MAXN=$n
done
for v in "${VARIANT_LIST[@]}"; do case $v in 1|3) ;; *) die "variants are 1 and 3, not '$v'" ;; esac; done
for c in "${CONTENDER_LIST[@]}"; do case $c in obplay|ansible|pssh) ;; *) die "unknown contender '$c'" ;; esac; done
case $ROOT in /?*) ;; *) die "--root must be an absolute path" ;; esac
case $ROOT in *[!A-Za-z0-9/._-]*) die "--root must be a plain path (letters, digits, / . _ -)" ;; esac

# --- what is needed ---------------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is missing ($2)"; }
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd is missing (apt-get install openssh-server)"
need ssh-keygen "apt-get install openssh-client"
need python3 "apt-get install python3"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
for c in "${CONTENDER_LIST[@]}"; do
  case $c in
    ansible) need ansible-playbook "apt-get install ansible-core" ;;
    pssh) need parallel-ssh "apt-get install pssh" ;;
  esac
done
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
STANDIN=$REPO/examples/standin/standin.py

if [ "$(id -u)" = 0 ]; then
  LOGIN_USER=obplay
  id "$LOGIN_USER" >/dev/null 2>&1 || die "no user $LOGIN_USER: run .ci/setup.sh (useradd -m -s /bin/sh obplay)"
  as_login() { runuser -u "$LOGIN_USER" -- "$@"; }
else
  LOGIN_USER=$(id -un)
  as_login() { "$@"; }
fi

# obplay itself: the runnable jar (OBPLAY_JAR, default target/obplay.jar, built if missing) through the
# launcher bin/obplay, as users run it (its JVM options; OBPLAY_JAVA_OPTS after them); with OBPLAY_PLAIN=1,
# plain `java -jar` with OBPLAY_JAVA_OPTS only; or classes on OBPLAY_CLASSPATH (the smoke test passes its
# own). The Java binary: OBPLAY_JAVA (default java).
read -r -a JOPTS <<<"${OBPLAY_JAVA_OPTS:-}"
JAVA_BIN=${OBPLAY_JAVA:-java}
if [ -n "${OBPLAY_CLASSPATH:-}" ]; then
  OBPLAY=("$JAVA_BIN" "${JOPTS[@]}" -cp "$OBPLAY_CLASSPATH" io.obplay.cli.Main)
  OBPLAY_DESC="$JAVA_BIN ${JOPTS[*]} -cp \$OBPLAY_CLASSPATH io.obplay.cli.Main"
else
  OBPLAY_JAR=${OBPLAY_JAR:-$REPO/target/obplay.jar}
  case " ${CONTENDER_LIST[*]} " in
    *" obplay "*)
      if [ ! -f "$OBPLAY_JAR" ]; then
        say "building $OBPLAY_JAR (mvn -B -q package -DskipTests)"
        (cd "$REPO" && mvn -B -q package -DskipTests) || die "build failed"
      fi ;;
  esac
  if [ "${OBPLAY_PLAIN:-0}" = 1 ]; then
    OBPLAY=("$JAVA_BIN" "${JOPTS[@]}" -jar "$OBPLAY_JAR")
    OBPLAY_DESC="${OBPLAY[*]}"
  else
    OBPLAY=(env "JAVA=$JAVA_BIN" "OBPLAY_JAR=$OBPLAY_JAR" "OBPLAY_JAVA_OPTS=${OBPLAY_JAVA_OPTS:-}" "$REPO/bin/obplay")
    OBPLAY_DESC="bin/obplay (OBPLAY_JAR=$OBPLAY_JAR${OBPLAY_JAVA_OPTS:+ OBPLAY_JAVA_OPTS=$OBPLAY_JAVA_OPTS})"
  fi
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((MAXN * 8 + 256)) ] \
  || say "warning: ulimit -n is $(ulimit -n); N=$MAXN may run out of file descriptors"

# --- clean-up: of an earlier killed run, and of this one ----------------------------------------------
# A process is ours when its pid file is under ROOT and (sshd) its command line names our config, or
# (observer) its cwd lies under ROOT. Nothing else is ever signalled.
pid_alive() { local st; { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1; st=${st##*) }; case $st in Z*|X*) return 1 ;; esac; }
kill_ours() { # SIGNAL PIDFILE KIND
  local pid
  pid=$(cat "$2" 2>/dev/null) || return 0
  case $pid in ''|*[!0-9]*) return 0 ;; esac
  pid_alive "$pid" || return 0
  case $3 in
    sshd) tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$ROOT/" || return 0 ;;
    observer) case $(readlink "/proc/$pid/cwd" 2>/dev/null) in "$ROOT"/*) ;; *) return 0 ;; esac ;;
  esac
  kill -s "$1" "$pid" 2>/dev/null || true
}
CG_KIND=""     # v2 or v1 when CPU is counted by a cgroup (see "measuring" below)
cg_end() { # DIR: end every process left in the cgroup (they are ours: the controller's descendants), remove it
  local d=$1 p i
  [ -d "$d" ] || return 0
  for i in 1 2 3 4 5 6 7 8 9 10; do
    [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ] || break
    if [ -e "$d/cgroup.kill" ]; then echo 1 >"$d/cgroup.kill" 2>/dev/null || true
    else while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$d/cgroup.procs"; fi
    sleep 0.1
  done
  rmdir "$d" 2>/dev/null || true
}
cleanup_all() {
  local f
  [ -d "$ROOT" ] || return 0
  for f in "$ROOT"/h*/oceanbase/run/observer.pid "$ROOT"/state/observer-*.pid; do [ -e "$f" ] && kill_ours KILL "$f" observer; done
  for f in "$ROOT"/sshd/h*/sshd.pid; do [ -e "$f" ] && kill_ours TERM "$f" sshd; done
  if [ -f "$ROOT/state/cgroups" ]; then
    while read -r f; do cg_end "$f/run"; cg_end "$f"; done <"$ROOT/state/cgroups"
  fi
  if [ -f "$ROOT/state/cp-dir" ]; then
    f=$(cat "$ROOT/state/cp-dir")
    case $f in /tmp/obcp.?*) rm -rf -- "$f" ;; esac
  fi
}
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "${SAMPLER_PID:-}" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  if [ -n "${HOLD_SLEEP:-}" ]; then kill "$HOLD_SLEEP" 2>/dev/null || true; fi
  cleanup_all
  if [ -d "$ROOT" ]; then
    if [ "$KEEP" = 1 ]; then say "kept $ROOT (--keep)"; else rm -rf -- "$ROOT"; fi
  fi
  exit "$rc"
}
if [ -d "$ROOT" ]; then
  say "ending what an earlier run left under $ROOT"
  cleanup_all
  rm -rf -- "$ROOT"
fi
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the fleet ---------------------------------------------------------------------------------------
mkdir -p "$ROOT"/{key,sshd,inv,runs,state} "$OUT"
chmod 755 "$ROOT"
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd && chmod 755 /run/sshd
KEY=$ROOT/key/id_ed25519
KH=$ROOT/known_hosts
ssh-keygen -q -t ed25519 -N '' -C obplay-fleet-bench -f "$KEY"
cp "$KEY.pub" "$ROOT/authorized_keys"
chmod 644 "$ROOT/authorized_keys"

hex4() { printf '%04X' "$1"; }
addr_hex() { local a b c d; IFS=. read -r a b c d <<<"$1"; printf '%02X%02X%02X%02X' "$d" "$c" "$b" "$a"; }
# every LISTEN socket on the machine, as HEXADDR:HEXPORT
listeners() { awk '$4 == "0A" { print $2 }' /proc/net/tcp 2>/dev/null; }

say "checking that $NET.2..$NET.$((MAXN + 1)):$SSH_PORT and ports $((BASE_PORT + 4))..$((BASE_PORT + 2 * MAXN + 3)) are free"
L=$(listeners)
busy=$(printf '%s\n' "$L" | awk -F: -v lo=$((BASE_PORT + 4)) -v hi=$((BASE_PORT + 2 * MAXN + 3)) '
  { p = 0; h = $2; for (i = 1; i <= 4; i++) p = p * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1 }
  (p >= lo && p <= hi) { printf "%d ", p }' | head -c 80)
[ -z "$busy" ] || die "observer ports in use: $busy- give --base-port P"
for ((i = 2; i <= MAXN + 1; i++)); do
  if printf '%s\n' "$L" | grep -qx "$(addr_hex "$NET.$i"):$(hex4 "$SSH_PORT")\|00000000:$(hex4 "$SSH_PORT")"; then
    die "$NET.$i:$SSH_PORT is already in use: give --ssh-port P (or --net 127.X.Y)"
  fi
done

say "starting $MAXN sshds on $NET.2..$NET.$((MAXN + 1)):$SSH_PORT (login user $LOGIN_USER)"
: >"$KH"
for ((i = 2; i <= MAXN + 1; i++)); do
  d=$ROOT/sshd/h$i
  mkdir -p "$d"
  ssh-keygen -q -t ed25519 -N '' -C "$NET.$i" -f "$d/host_key"
  cat >"$d/sshd_config" <<EOF
# obplay fleet benchmark, host $NET.$i
ListenAddress $NET.$i:$SSH_PORT
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $ROOT/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
MaxStartups 200:30:400
MaxSessions 20
UseDNS no
LogLevel ERROR
EOF
  /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || die "sshd for $NET.$i did not start: $(cat "$d/sshd.log" 2>/dev/null)"
  read -r kt kk _ <"$d/host_key.pub"
  echo "[$NET.$i]:$SSH_PORT $kt $kk" >>"$KH"
done
for ((i = 2; i <= MAXN + 1; i++)); do
  want="$(addr_hex "$NET.$i"):$(hex4 "$SSH_PORT")"
  for ((t = 0; t < 100; t++)); do listeners | grep -qx "$want" && break; sleep 0.1; done
  [ "$t" -lt 100 ] || die "sshd on $NET.$i:$SSH_PORT does not listen: $(cat "$ROOT/sshd/h$i/sshd.log")"
done
ssh -F /dev/null -i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="$KH" \
    -o StrictHostKeyChecking=yes -p "$SSH_PORT" "$LOGIN_USER@$NET.2" true \
  || die "cannot log in to $LOGIN_USER@$NET.2:$SSH_PORT with the benchmark key: $(cat "$ROOT/sshd/h2/sshd.log")"

# homes: ROOT/h<i>/oceanbase, owned by the login user
for ((i = 2; i <= MAXN + 1; i++)); do mkdir -p "$ROOT/h$i/oceanbase"; done
[ "$(id -u)" = 0 ] && chown -R "$LOGIN_USER": "$ROOT"/h*
AS_LOGIN=""
[ "$(id -u)" = 0 ] && AS_LOGIN="runuser -u $LOGIN_USER --"
cat >"$ROOT/start-observer.sh" <<EOF
# start-observer.sh I: host I's stand-in observer (home $ROOT/hI/oceanbase, ports $BASE_PORT + 2I and + 1)
i=\$1
p=\$(($BASE_PORT + 2 * i))
out=\$($AS_LOGIN "$PY" "$STANDIN" serve --home "$ROOT/h\$i/oceanbase" --name observer \\
      --pidfile run/observer.pid --bind "$NET.\$i" --ports "\$p,\$((p + 1))" 2>&1) \\
  || { echo "observer h\$i: \$out" >&2; exit 255; }
EOF

# --- inventories ----------------------------------------------------------------------------------------
p1() { echo $((BASE_PORT + 2 * $1)); }
for n in "${SIZE_LIST[@]}"; do
  {
    echo "# generated by bench/fleet.sh: $n hosts of the loopback fleet"
    echo "cluster: fleet"
    echo "transport: ssh"
    echo "ssh: { user: $LOGIN_USER, port: $SSH_PORT, key: $KEY, known_hosts: $KH, host_key_checking: strict, connect_timeout: 60s }"
    echo "zones:"
    zones=3; [ "$n" -ge 3 ] || zones=$n
    for ((z = 1; z <= zones; z++)); do
      echo "  zone$z:"
      echo "    servers:"
      for ((i = 2; i <= n + 1; i++)); do
        [ $(((i - 2) % zones + 1)) = "$z" ] || continue
        echo "      - { host: $NET.$i, home_path: $ROOT/h$i/oceanbase, mysql_port: $(p1 "$i"), rpc_port: $(($(p1 "$i") + 1)) }"
      done
    done
  } >"$ROOT/inv/obplay-$n.yaml"
  {
    echo "[fleet]"
    for ((i = 2; i <= n + 1; i++)); do
      echo "h$i ansible_host=$NET.$i home=$ROOT/h$i/oceanbase p1=$(p1 "$i") p2=$(($(p1 "$i") + 1))"
    done
    echo "[fleet:vars]"
    echo "ansible_port=$SSH_PORT"
    echo "ansible_user=$LOGIN_USER"
    echo "ansible_ssh_private_key_file=$KEY"
    echo "ansible_python_interpreter=/usr/bin/python3"
  } >"$ROOT/inv/ansible-$n.ini"
  for ((i = 2; i <= n + 1; i++)); do echo "$NET.$i:$SSH_PORT"; done >"$ROOT/inv/pssh-$n.hosts"
done
mkdir -p "$ROOT/ansible/tmp" "$ROOT/ansible/home"
# ssh's control sockets need a short path (a unix socket's path has at most 107 bytes)
CP_DIR=$(mktemp -d /tmp/obcp.XXXXXX)
echo "$CP_DIR" >"$ROOT/state/cp-dir"
cat >"$ROOT/ansible/ansible.cfg" <<EOF
[defaults]
forks = $MAXN
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
local_tmp = $ROOT/ansible/tmp
deprecation_warnings = False
[ssh_connection]
pipelining = True
ssh_args = -F /dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$KH -o StrictHostKeyChecking=yes -o ControlMaster=auto -o ControlPersist=60s
control_path_dir = $CP_DIR
control_path = %(directory)s/%%C
EOF
# the floor's commands: each host finds its home and ports from the address it was reached on
floor_cmd() { # STEP
  # shellcheck disable=SC2016 # expanded on the host, not here
  printf 'set -- $SSH_CONNECTION; i=${3##*.}; H=%s/h$i/oceanbase; P1=$((%s + 2 * i)); P2=$((P1 + 1))\n' "$ROOT" "$BASE_PORT"
  cat "$BENCH/steps/$1.sh"
}

# --- observers ------------------------------------------------------------------------------------------
start_observers() { # N: (re)start observers 2..N+1, record their pids in ROOT/state/observers-expected
  local n=$1 i pid
  for ((i = 2; i <= n + 1; i++)); do echo "$i"; done | xargs -P 8 -n 1 sh "$ROOT/start-observer.sh" \
    || die "could not start the observers"
  : >"$ROOT/state/observers-expected"
  for ((i = 2; i <= n + 1; i++)); do
    pid=$(cat "$ROOT/h$i/oceanbase/run/observer.pid")
    pid_alive "$pid" || die "observer h$i (pid $pid) is not running after its start"
    echo "$i $pid" >>"$ROOT/state/observers-expected"
    cp "$ROOT/h$i/oceanbase/run/observer.pid" "$ROOT/state/observer-$i.pid"
  done
}
# verify N VARIANT: count observers whose process still runs or whose port still LISTENs (or, 3-step,
# whose log directory is still there); print the count, and the first few in ROOT/state/why
verify() {
  local n=$1 v=$2 i pid bad=0 lst
  lst=$(listeners | awk -F: '{ print $2 }' | sort -u)
  : >"$ROOT/state/why"
  while read -r i pid; do
    local why=""
    pid_alive "$pid" && why="pid $pid runs"
    printf '%s\n' "$lst" | grep -qx "$(hex4 "$(p1 "$i")")\|$(hex4 $(($(p1 "$i") + 1)))" && why="$why port listens"
    [ "$v" = 3 ] && [ -e "$ROOT/h$i/oceanbase/log" ] && why="$why log dir left"
    if [ -n "$why" ]; then
      bad=$((bad + 1))
      [ "$bad" -le 5 ] && echo "h$i:$why" >>"$ROOT/state/why"
    fi
  done <"$ROOT/state/observers-expected"
  echo "$bad"
}
# after a failed run, end what is left so the next start finds free ports
force_stop() {
  local i pid
  while read -r i pid; do
    if pid_alive "$pid"; then
      case $(readlink "/proc/$pid/cwd" 2>/dev/null) in "$ROOT"/*) kill -KILL "$pid" 2>/dev/null || true ;; esac
    fi
  done <"$ROOT/state/observers-expected"
  sleep 0.3
}

# --- measuring ------------------------------------------------------------------------------------------
# A cgroup per run counts the CPU of the controller's whole tree, daemonized children included.
CG_BASE=""
if [ "$(id -u)" = 0 ]; then
  v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
  v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)cpuacct(,|$)/ { print $2; exit }' /proc/mounts)
  if [ -n "$v2" ] && mkdir "$v2/obplay-fleet-$$" 2>/dev/null; then
    CG_BASE=$v2/obplay-fleet-$$; CG_KIND=v2
  elif [ -n "$v1" ] && mkdir "$v1/obplay-fleet-$$" 2>/dev/null; then
    CG_BASE=$v1/obplay-fleet-$$; CG_KIND=v1
  fi
  if [ -n "$CG_BASE" ]; then
    # a probe: can a process join it, and does it count CPU?
    if ! sh -c 'echo $$ >"$1/cgroup.procs"' sh "$CG_BASE" 2>/dev/null \
       || { [ "$CG_KIND" = v2 ] && [ ! -r "$CG_BASE/cpu.stat" ]; }; then
      rmdir "$CG_BASE" 2>/dev/null || true; CG_BASE=""; CG_KIND=""
    else
      echo "$CG_BASE" >>"$ROOT/state/cgroups"
    fi
  fi
fi
if [ -n "$CG_BASE" ]; then say "CPU per run from a $CG_KIND cgroup ($CG_BASE)"; else say "no cgroup: CPU per run from /usr/bin/time (user+sys of waited-for processes)"; fi
cg_cpu() { # DIR -> CPU seconds
  if [ "$CG_KIND" = v2 ]; then awk '$1 == "usage_usec" { printf "%.3f", $2 / 1e6 }' "$1/cpu.stat"
  else awk '{ printf "%.3f", $1 / 1e9 }' "$1/cpuacct.usage"; fi
}
# sampler DIR FILE: the peak of the summed RSS (KiB) of the cgroup's processes, every 0.5 s, into FILE
sampler() {
  local peak=0 s
  while :; do
    # shellcheck disable=SC2016
    s=$(sed 's|.*|/proc/&/status|' "$1/cgroup.procs" 2>/dev/null | xargs -r awk '$1 == "VmRSS:" { t += $2 } END { print t + 0 }' 2>/dev/null || echo 0)
    [ "${s:-0}" -gt "$peak" ] && { peak=$s; echo "$peak" >"$2"; }
    sleep 0.5
  done
}
# measure RUNDIR CMD...: runs CMD (stdout+stderr to RUNDIR/log); sets M_WALL M_CPU M_RSS M_TREE M_RC
measure() {
  local rd=$1; shift
  local cg="" t0 t1
  if [ -n "$CG_BASE" ]; then
    cg=$CG_BASE/run
    cg_end "$cg"
    mkdir "$cg"
    echo 0 >"$rd/tree_rss"
    sampler "$cg" "$rd/tree_rss" &
    SAMPLER_PID=$!
  fi
  t0=$(date +%s.%N)
  set +e
  # shellcheck disable=SC2016
  /usr/bin/time -f '%e %U %S %M' -o "$rd/time" \
    sh -c 'if [ -n "$1" ]; then echo $$ >"$1/cgroup.procs"; fi; shift; exec "$@"' sh "$cg" "$@" >"$rd/log" 2>&1
  M_RC=$?
  set -e
  t1=$(date +%s.%N)
  M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  # (time writes "Command exited with non-zero status N" first when the command fails)
  read -r _ u s M_RSS < <(tail -n 1 "$rd/time") || true
  case "$u$s$M_RSS" in ''|*[!0-9.]*) u=0; s=0; M_RSS=0 ;; esac
  M_TREE=""
  if [ -n "$cg" ]; then
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    cg_end_children "$cg"
    M_CPU=$(cg_cpu "$cg")
    M_TREE=$(cat "$rd/tree_rss")
    cg_end "$cg"
  else
    M_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f", u + s }')
  fi
}
# after the run, whatever the controller left (Ansible's ControlPersist masters) is ended, so that no run
# inherits warm connections from the one before; their CPU so far is counted
cg_end_children() {
  local p
  while read -r p; do kill -TERM "$p" 2>/dev/null || true; done <"$1/cgroup.procs"
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    [ -n "$(cat "$1/cgroup.procs" 2>/dev/null)" ] || return 0
    sleep 0.1
  done
}
# without a cgroup, Ansible's masters are closed through their control sockets
close_masters() {
  local n=$1 i
  for ((i = 2; i <= n + 1; i++)); do echo "$i"; done | xargs -P 16 -I{} \
    ssh -F /dev/null -o ControlPath="$CP_DIR/%C" -p "$SSH_PORT" -O exit "$LOGIN_USER@$NET.{}" >/dev/null 2>&1 || true
}

run_contender() { # C N V RUNDIR
  local c=$1 n=$2 v=$3 rd=$4 pb
  case $c in
    obplay)
      pb=$BENCH/obplay/stop.yaml; [ "$v" = 3 ] && pb=$BENCH/obplay/stop3.yaml
      measure "$rd" "${OBPLAY[@]}" run --yes -i "$ROOT/inv/obplay-$n.yaml" "$pb" --forks "$n" --state-dir "$rd/state" ;;
    ansible)
      pb=$BENCH/ansible/stop.yml; [ "$v" = 3 ] && pb=$BENCH/ansible/stop3.yml
      measure "$rd" env ANSIBLE_CONFIG="$ROOT/ansible/ansible.cfg" ANSIBLE_HOME="$ROOT/ansible/home" \
        ANSIBLE_NOCOLOR=1 ansible-playbook -i "$ROOT/inv/ansible-$n.ini" -f "$n" "$pb"
      [ -n "$CG_BASE" ] || close_masters "$n" ;;
    pssh)
      local steps=stop
      [ "$v" = 3 ] && steps="stop cleanup shell"
      local script="set -e"
      for s in $steps; do
        floor_cmd "$s" >"$rd/$s.cmd"
        script="$script; parallel-ssh -h '$ROOT/inv/pssh-$n.hosts' -l '$LOGIN_USER' -p $n -t 300 \
-x '-F /dev/null -i $KEY -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$KH -o StrictHostKeyChecking=yes' \
\"\$(cat '$rd/$s.cmd')\""
      done
      measure "$rd" sh -c "$script" ;;
  esac
}

if [ -n "$HOLD" ]; then
  start_observers "$HOLD"
  n=$HOLD
  cat >&2 <<EOF
fleet: holding $n hosts and observers under $ROOT until Ctrl-C (or kill $$). Restart the observers with
  seq 2 $((n + 1)) | xargs -P 8 -n 1 sh $ROOT/start-observer.sh
obplay:
  ${OBPLAY[*]} run --yes -i $ROOT/inv/obplay-$n.yaml $BENCH/obplay/stop.yaml --forks $n --state-dir /tmp/STATE
Ansible:
  ANSIBLE_CONFIG=$ROOT/ansible/ansible.cfg ANSIBLE_HOME=$ROOT/ansible/home ansible-playbook -i $ROOT/inv/ansible-$n.ini -f $n $BENCH/ansible/stop.yml
pssh (the floor):
  parallel-ssh -h $ROOT/inv/pssh-$n.hosts -l $LOGIN_USER -p $n -t 300 -x '-F /dev/null -i $KEY -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile=$KH -o StrictHostKeyChecking=yes' "\$(cat $ROOT/stop.cmd)"
EOF
  floor_cmd stop >"$ROOT/stop.cmd"
  while :; do sleep 3600 & HOLD_SLEEP=$!; wait "$HOLD_SLEEP" || true; done
fi

# --- the runs -------------------------------------------------------------------------------------------
TSV=$OUT/runs.tsv
ensure_header() {
  [ -s "$TSV" ] || printf 'n\tvariant\tcontender\trep\twall_s\tcpu_s\tcpu_source\tmax_rss_kb\ttree_rss_kb\texit\tfailed_hosts\tload1\twhen\n' >"$TSV"
}
: >"$TSV"
ensure_header
{
  # shellcheck disable=SC1091
  echo "machine: $(nproc) cores ($(awk -F: '/model name/ { gsub(/^ /, "", $2); print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "java: $(java -version 2>&1 | head -n 1)"
  echo "obplay: $OBPLAY_DESC"
  command -v ansible-playbook >/dev/null && echo "ansible: $(ansible-playbook --version | head -n 1)"
  command -v parallel-ssh >/dev/null && echo "pssh: $(parallel-ssh --version 2>&1 | head -n 1)"
  echo "openssh: $(ssh -V 2>&1)"
  echo "sizes $SIZES, reps $REPS, variants $VARIANTS, contenders $CONTENDERS, login user $LOGIN_USER, cpu from ${CG_KIND:-time}"
} >"$OUT/machine.txt"
TOTAL_FAILED=0
for n in "${SIZE_LIST[@]}"; do
  for v in "${VARIANT_LIST[@]}"; do
    for ((r = 1; r <= REPS; r++)); do
      k=${#CONTENDER_LIST[@]}
      for ((j = 0; j < k; j++)); do
        c=${CONTENDER_LIST[$(((j + r - 1) % k))]}
        rd=$ROOT/runs/n$n-v$v-$c-r$r
        mkdir -p "$rd"
        start_observers "$n"
        [ "$SETTLE" = 0 ] || sleep "$SETTLE"
        load=$(cut -d' ' -f1 /proc/loadavg)
        run_contender "$c" "$n" "$v" "$rd"
        failed=$(verify "$n" "$v")
        line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$n" "$v" "$c" "$r" "$M_WALL" "$M_CPU" \
          "${CG_KIND:-time}" "$M_RSS" "${M_TREE:-}" "$M_RC" "$failed" "$load" "$(date -u +%FT%TZ)")
        echo "$line" >>"$TSV"
        say "N=$n ${v}-step $c rep $r: wall ${M_WALL}s cpu ${M_CPU}s rss $((M_RSS / 1024))MB${M_TREE:+ (tree $((M_TREE / 1024))MB)} exit $M_RC, $failed of $n not stopped (load $load)"
        if [ "$failed" != 0 ] || [ "$M_RC" != 0 ]; then
          TOTAL_FAILED=$((TOTAL_FAILED + 1))
          mkdir -p "$OUT/failed"
          cp "$rd/log" "$OUT/failed/n$n-v$v-$c-r$r.log" 2>/dev/null || true
          say "  FAILED: exit $M_RC; $(tr '\n' ';' <"$ROOT/state/why") log: $OUT/failed/n$n-v$v-$c-r$r.log"
          force_stop
        fi
        rm -rf "$rd/state"
      done
    done
  done
done

python3 "$BENCH/report.py" "$OUT" >&2
if [ "$TOTAL_FAILED" != 0 ]; then
  say "$TOTAL_FAILED run(s) failed: a contender exited non-zero or left observers running (see $OUT/failed)"
  exit 1
fi
say "done: $OUT/runs.tsv, $OUT/summary.md, $OUT/fleet.svg"
