# The Ansible side's stop of one observer (bench/rolling/ansible/rolling-restart.yml), as obplay's restart stops
# it: TERM the pid in run/observer.pid if it is a live process whose cwd is the home, KILL it after GRACE seconds,
# wait up to KILL_WAIT for it to go; done once the process is gone and, for SETTLE seconds, no port of it LISTENs.
# Environment: H (home), P1 P2 (ports), GRACE KILL_WAIT SETTLE (seconds).
set -u
pf=$H/run/observer.pid
listens() { # any of P1 P2 in LISTEN state
  awk -v a="$(printf '%04X' "$P1")" -v b="$(printf '%04X' "$P2")" \
    'FNR > 1 && $4 == "0A" { split($2, x, ":"); if (x[2] == a || x[2] == b) f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6
}
alive() { case $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) in ''|Z|X) return 1 ;; esac; }
pid=$(cat "$pf" 2>/dev/null || true)
case $pid in ''|*[!0-9]*) pid= ;; esac
if [ -n "$pid" ] && alive "$pid" && [ "$(readlink "/proc/$pid/cwd")" = "$H" ]; then
  kill -TERM "$pid"
  t=0
  while alive "$pid" && [ "$t" -lt $((GRACE * 10)) ]; do sleep 0.1; t=$((t + 1)); done
  if alive "$pid"; then
    echo "observer pid $pid still runs after ${GRACE}s: KILL"
    kill -KILL "$pid"
    t=0
    while alive "$pid" && [ "$t" -lt $((KILL_WAIT * 10)) ]; do sleep 0.1; t=$((t + 1)); done
    alive "$pid" && { echo "observer pid $pid survives KILL"; exit 1; }
  fi
fi
t=0; free=0
while [ "$free" -lt $((SETTLE * 10)) ]; do
  if listens; then free=0; else free=$((free + 1)); fi
  t=$((t + 1)); [ "$t" -lt $(((GRACE + KILL_WAIT + SETTLE) * 10)) ] || { echo "ports $P1 $P2 still LISTEN"; exit 1; }
  sleep 0.1
done
rm -f "$pf"
echo "stopped observer (pid ${pid:-none}) in $H"
