#!/usr/bin/env bash
# The rolling-restart benchmark: restart N observers of the loopback SSH fleet, one zone after another, with
# obplay (`restart` step, `strategy: rolling`, no gate) and with Ansible (a `serial` play, one zone per batch),
# and measure, for each: the total wall time and how long each zone was down, by sampling, not assumed.
#
#   bench/rolling-restart.sh [--size N]     # N observers (default 100) in 3 zones; one run of each tool
#   bench/rolling-restart.sh --smoke        # N = 6: proves the script works (exit 1 on any failure)
#                            [--root /tmp/obplay-rolling] [--out bench/rolling/results] [--interval 0.15]
#
# The fleet: `bench/fleet.sh --hold N --root ROOT` (N real sshds on 127.0.0.i:22220, i = 2..N+1, login user obplay,
# its key, known_hosts and obplay inventory ROOT/inv/obplay-N.yaml; zone k = hosts with (i - 2) mod 3 = k - 1) runs in
# the background; its `serve` stand-ins are not startable, so this script ends them and installs in every home a
# startable stand-in (examples/standin/standin.py install --kind observer: bin/observer, etc/observer.config.bin;
# store, store/clog, store/slog made), as the login user, and starts each as obshell does (cd H;
# LD_LIBRARY_PATH=H/lib H/bin/observer). A stand-in listens 0.5 s after it starts and exits 0.2 s after a TERM.
#
# Contenders, one run each, obplay first, then Ansible (each finds every observer running and ready):
#   obplay   bin/obplay run --yes -i ROOT/inv/obplay-N.yaml bench/rolling/obplay/rolling-restart.yaml --forks N
#            (restart: grace 10s, kill_wait 5s, settle 1s, wait 2m; strategy rolling: zone by zone, each zone
#            ready before the next); a fresh state directory; JVM start-up included
#   ansible  ansible-playbook -f N bench/rolling/ansible/rolling-restart.yml: hosts zone1:zone2:zone3, serial = the
#            zone sizes, so one zone per batch; per host stop.sh (TERM, KILL after 10s, ports free for 1s), the start
#            as obshell does, ready.sh (pid alive + both ports LISTEN for 1s); fleet.sh's ansible.cfg: pipelining,
#            ControlMaster=auto/ControlPersist=60s, facts off, interpreter fixed; masters closed before the run
#
# Measured: wall time from the command's start to its exit; and, by bench/rolling/sampler.py running from 3 s
# before to 3 s after the command, every INTERVAL (0.15 s) a TCP connect to both ports of every observer at once
# (a server is down in a sample when a port did not accept within 0.1 s). Per zone, its down span = from the
# first to the last sample (within the run) at which some server of the zone was down; "longest zone down" is
# the largest span over the zones; also the most zones down in one sample (must be 1), the number of separate
# down stretches per zone (must be 1) and whether every observer was restarted (a new pid) and is ready after.
#
# Results: OUT/runs.tsv (one line per contender), OUT/summary.txt (what the run printed), OUT/samples-C.txt (the
# raw samples), OUT/machine.txt. The fleet is ended on exit (fleet.sh's own clean-up: ROOT removed).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$REPO/bench/rolling
N=100 SMOKE=0 ROOT=/tmp/obplay-rolling OUT="" INTERVAL=0.15 NET=127.0.0 BASE_PORT=21000
while [ $# -gt 0 ]; do
  case $1 in
    --size) N=$2; shift 2 ;;
    --smoke) SMOKE=1; N=6; shift ;;
    --root) ROOT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rolling-restart.sh: unknown argument $1" >&2; exit 1 ;;
  esac
done
[ -n "$OUT" ] || { if [ "$SMOKE" = 1 ]; then OUT=$ROOT-smoke-results; else OUT=$B/results; fi; }
mkdir -p "$OUT"
[ "$N" -ge 3 ] || { echo "rolling-restart.sh: --size must be >= 3 (three zones)" >&2; exit 1; }
T0=$(date +%s.%N)
say() { printf 'rolling: [%6ss] %s\n' "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" "$*" | tee -a "$OUT/summary.txt" >&2; }
die() { say "ERROR: $*"; exit 1; }
: >"$OUT/summary.txt"
JAR=${OBPLAY_JAR:-$REPO/target/obplay.jar}
[ -f "$JAR" ] || (cd "$REPO" && mvn -B -q package -DskipTests) || die "no $JAR and the build failed"
command -v ansible-playbook >/dev/null || die "ansible-playbook is missing"
if [ "$(id -u)" = 0 ]; then LOGIN_USER=obplay; as_login() { runuser -u "$LOGIN_USER" -- "$@"; }
else LOGIN_USER=$(id -un); as_login() { "$@"; }; fi
PY=/usr/bin/python3; STANDIN=$REPO/examples/standin/standin.py

FLEET_PID="" SAMPLER=""
on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
  if [ -n "$FLEET_PID" ]; then kill -TERM "$FLEET_PID" 2>/dev/null || true; wait "$FLEET_PID" 2>/dev/null || true; fi
  exit "$rc"
}
trap on_exit EXIT; trap 'exit 130' INT; trap 'exit 143' TERM

# --- the fleet, held by fleet.sh ---------------------------------------------------------------------------
say "starting the fleet: bench/fleet.sh --hold $N --root $ROOT"
OBPLAY_JAR=$JAR bash "$REPO/bench/fleet.sh" --hold "$N" --root "$ROOT" --contenders obplay,ansible \
  --out "$ROOT-fleet-out" >"$OUT/fleet.log" 2>&1 &
FLEET_PID=$!
for ((t = 0; t < 1200; t++)); do
  grep -q 'holding' "$OUT/fleet.log" 2>/dev/null && break
  kill -0 "$FLEET_PID" 2>/dev/null || die "fleet.sh ended: $(tail -n 5 "$OUT/fleet.log")"
  sleep 0.5
done
grep -q 'holding' "$OUT/fleet.log" || die "the fleet did not come up in 10 minutes"
say "fleet up: $N sshds, $N serve stand-ins"
INV=$ROOT/inv/obplay-$N.yaml
KEY=$ROOT/key/id_ed25519
zone_of() { echo "zone$((($1 - 2) % 3 + 1))"; }
p1() { echo $((BASE_PORT + 2 * $1)); }
listening_all() { # every port of observers 2..N+1 LISTENs
  awk 'FNR > 1 && $4 == "0A" { split($2, x, ":"); print x[2] }' /proc/net/tcp | sort -u >"$ROOT/lst"
  local i
  for ((i = 2; i <= N + 1; i++)); do
    grep -qx "$(printf '%04X' "$(p1 "$i")")" "$ROOT/lst" && grep -qx "$(printf '%04X' $(($(p1 "$i") + 1)))" "$ROOT/lst" || return 1
  done
}
alive() { case $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) in ''|Z|X) return 1 ;; esac; }

# --- startable observers --------------------------------------------------------------------------------------
say "replacing the serve stand-ins with startable ones (standin.py install --kind observer), started as obshell does"
for ((i = 2; i <= N + 1; i++)); do
  pid=$(cat "$ROOT/h$i/oceanbase/run/observer.pid")
  case $(readlink "/proc/$pid/cwd") in "$ROOT"/*) kill -TERM "$pid" ;; esac
done
for ((t = 0; t < 100; t++)); do
  left=0
  for ((i = 2; i <= N + 1; i++)); do alive "$(cat "$ROOT/h$i/oceanbase/run/observer.pid")" && left=$((left + 1)); done
  [ "$left" = 0 ] && break; sleep 0.1
done
[ "$left" = 0 ] || die "$left serve stand-ins did not exit"
cat >"$ROOT/install-one.sh" <<EOS
i=\$1; H=$ROOT/h\$i/oceanbase; p=\$(($BASE_PORT + 2 * i)); z=zone\$(((i - 2) % 3 + 1))
rm -f "\$H/run/observer.pid"
$PY $STANDIN install --home "\$H" --kind observer --ports "\$p,\$((p + 1))" --bind "$NET.\$i" --zone "\$z" \
  --pidfile run/observer.pid >/dev/null || exit 255
mkdir -p "\$H/store/clog" "\$H/store/slog" || exit 255
cd "\$H" && LD_LIBRARY_PATH="\$H/lib" "\$H/bin/observer" >/dev/null || exit 255
EOS
seq 2 $((N + 1)) | as_login xargs -P 4 -n 1 sh "$ROOT/install-one.sh" || die "could not install or start the observers"
for ((t = 0; t < 300; t++)); do listening_all && break; sleep 0.1; done
listening_all || die "not every observer listens 30 s after its start"
say "$N startable observers running and listening"

# servers for the sampler; Ansible inventory with zone groups, hosts zone by zone
: >"$ROOT/servers"
for z in 1 2 3; do
  for ((i = 2; i <= N + 1; i++)); do
    [ "$(zone_of "$i")" = "zone$z" ] && echo "zone$z $NET.$i $(p1 "$i") $(($(p1 "$i") + 1))" >>"$ROOT/servers"
  done
done
AINV=$ROOT/inv/ansible-rolling-$N.ini
{
  for z in 1 2 3; do
    echo "[zone$z]"
    for ((i = 2; i <= N + 1; i++)); do
      [ "$(zone_of "$i")" = "zone$z" ] && echo "h$i ansible_host=$NET.$i home=$ROOT/h$i/oceanbase p1=$(p1 "$i") p2=$(($(p1 "$i") + 1))"
    done
  done
  echo "[fleet:children]"; echo zone1; echo zone2; echo zone3
  echo "[fleet:vars]"
  echo "ansible_port=22220"; echo "ansible_user=$LOGIN_USER"; echo "ansible_ssh_private_key_file=$KEY"
  echo "ansible_python_interpreter=/usr/bin/python3"
} >"$AINV"
SIZES=$(for z in 1 2 3; do grep -c "^zone$z " "$ROOT/servers"; done | paste -sd, -)
say "zones (index mod 3): sizes $SIZES"

{
  echo "machine: $(nproc) cores ($(awk -F: '/model name/ { gsub(/^ /, "", $2); print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r); shared with another engineer's test run"
  echo "java: $(java -version 2>&1 | head -n 1)"
  echo "obplay: $(git -C "$REPO" rev-parse --short HEAD) $JAR"
  echo "ansible: $(ansible-playbook --version | head -n 1)"
  echo "openssh: $(ssh -V 2>&1)"
  echo "N=$N zones=3 ($SIZES) interval=${INTERVAL}s"
} >"$OUT/machine.txt"

# Ansible's ControlPersist masters (and their sshd sessions) are closed before its run (a cold start, as obplay's)
# and after it (so the fleet's end leaves nothing behind)
close_masters() {
  local i
  for ((i = 2; i <= N + 1; i++)); do
    ssh -F /dev/null -o ControlPath="$(cat "$ROOT/state/cp-dir")/%C" -p 22220 -O exit "$LOGIN_USER@$NET.$i" >/dev/null 2>&1 || true
  done
}
pids_now() { for ((i = 2; i <= N + 1; i++)); do cat "$ROOT/h$i/oceanbase/run/observer.pid" 2>/dev/null || echo none; done; }
TSV=$OUT/runs.tsv
printf 'n\tzones\tcontender\twall_s\texit\tlongest_zone_down_s\tzone1_down_s\tzone2_down_s\tzone3_down_s\tmax_zones_down_at_once\tdown_stretches\tsamples\tmean_spacing_s\tmax_spacing_s\trestarted\tready_after\tload1\twhen\n' >"$TSV"
FAILED=0
run_one() { # CONTENDER
  local c=$1 t0 t1 rc wall rd
  rd=$ROOT/runs/$c
  mkdir -p "$rd"
  listening_all || die "$c: not every observer is up before the run"
  pids_now >"$rd/pids-before"
  [ "$c" = ansible ] && close_masters
  "$PY" "$B/sampler.py" "$ROOT/servers" "$OUT/samples-$c.txt" --interval "$INTERVAL" --timeout 0.1 &
  SAMPLER=$!
  sleep 3
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  say "$c: running (load $load)"
  t0=$(date +%s.%N)
  set +e
  case $c in
    obplay)
      env "OBPLAY_JAR=$JAR" "$REPO/bin/obplay" run --yes -i "$INV" "$B/obplay/rolling-restart.yaml" --forks "$N" \
        --state-dir "$rd/state" >"$rd/log" 2>&1 ;;
    ansible)
      env ANSIBLE_CONFIG="$ROOT/ansible/ansible.cfg" ANSIBLE_HOME="$ROOT/ansible/home" ANSIBLE_NOCOLOR=1 \
        ansible-playbook -i "$AINV" -f "$N" -e "{\"zone_sizes\": [$SIZES]}" "$B/ansible/rolling-restart.yml" >"$rd/log" 2>&1 ;;
  esac
  rc=$?
  set -e
  t1=$(date +%s.%N)
  [ "$c" = ansible ] && close_masters
  sleep 3
  kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true; SAMPLER=""
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  cp "$rd/log" "$OUT/log-$c.txt"
  pids_now >"$rd/pids-after"
  local restarted=0 ready=yes
  restarted=$(paste -d' ' "$rd/pids-before" "$rd/pids-after" | awk '$1 != $2 && $2 != "none"' | wc -l)
  listening_all || ready=no
  while read -r p; do alive "$p" || ready=no; done <"$rd/pids-after"
  "$PY" "$B/sampler.py" --analyze "$OUT/samples-$c.txt" --t0 "$t0" --t1 "$t1" >"$rd/analysis"
  cp "$rd/analysis" "$OUT/analysis-$c.txt"
  g() { awk -F= -v k="$1" '$1 == k { print $2 }' "$rd/analysis"; }
  local st; st="$(g zone1_down_stretches),$(g zone2_down_stretches),$(g zone3_down_stretches)"
  printf '%s\t3\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\n' "$N" "$c" "$wall" "$rc" \
    "$(g longest_zone_down_s)" "$(g zone1_down_span_s)" "$(g zone2_down_span_s)" "$(g zone3_down_span_s)" \
    "$(g max_zones_down_at_once)" "$st" "$(g samples)" "$(g mean_spacing_s)" "$(g max_spacing_s)" \
    "$restarted" "$N" "$ready" "$load" "$(date -u +%FT%TZ)" >>"$TSV"
  say "$c: wall ${wall}s exit $rc; zone down spans: zone1 $(g zone1_down_span_s)s zone2 $(g zone2_down_span_s)s zone3 $(g zone3_down_span_s)s (longest $(g longest_zone_down_s)s); max zones down at once $(g max_zones_down_at_once); down stretches per zone $st; $restarted/$N restarted, ready after: $ready; $(g samples) samples, spacing mean $(g mean_spacing_s)s max $(g max_spacing_s)s, longest sample $(g max_sample_s)s"
  if [ "$rc" != 0 ] || [ "$restarted" != "$N" ] || [ "$ready" != yes ] || [ "$(g max_zones_down_at_once)" != 1 ] || [ "$st" != "1,1,1" ]; then
    FAILED=$((FAILED + 1)); say "$c: FAILED (see $OUT/log-$c.txt)"; tail -n 20 "$rd/log" >&2
  fi
}
run_one obplay
run_one ansible
column -t -s $'\t' "$TSV" | tee -a "$OUT/summary.txt" >&2
[ "$FAILED" = 0 ] || die "$FAILED contender(s) failed"
say "done: $TSV"
