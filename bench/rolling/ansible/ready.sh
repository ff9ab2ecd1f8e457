# The Ansible side's readiness check: the pid file names a live process whose cwd
# is the home and both ports LISTEN, continuously for SETTLE seconds (as obplay's restart waits), within WAIT s.
# Environment: H P1 P2 SETTLE WAIT.
set -u
pf=$H/run/observer.pid
listens() { # both P1 and P2 in LISTEN state
  awk -v a="$(printf '%04X' "$P1")" -v b="$(printf '%04X' "$P2")" \
    'FNR > 1 && $4 == "0A" { split($2, x, ":"); if (x[2] == a) fa = 1; if (x[2] == b) fb = 1 } END { exit !(fa && fb) }' /proc/net/tcp /proc/net/tcp6
}
alive() { case $(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) in ''|Z|X) return 1 ;; esac; }
t=0; ok=0
while [ "$ok" -lt $((SETTLE * 10)) ]; do
  pid=$(cat "$pf" 2>/dev/null || true)
  case $pid in ''|*[!0-9]*) pid=0 ;; esac
  if [ "$pid" != 0 ] && alive "$pid" && [ "$(readlink "/proc/$pid/cwd")" = "$H" ] && listens; then ok=$((ok + 1)); else ok=0; fi
  t=$((t + 1)); [ "$t" -lt $((WAIT * 10)) ] || { echo "not ready within ${WAIT}s"; tail -n 5 "$H/log/observer.log"; exit 1; }
  sleep 0.1
done
echo "observer pid $pid ready in $H"
