# The raw stop, as the floor (pssh) and Ansible run it: TERM the pid in the pid file, then poll every
# 0.1 s (as obplay's stop script does) until the process is gone (a zombie counts as gone) and neither
# of its ports LISTENs, then remove the pid file. Needs H (the home), P1 and P2 (its ports).
# No proof of identity, no escalation to KILL: what parallel SSH costs with no tool around it.
f=$H/run/observer.pid
pid=$(cat "$f") || exit 1
kill -TERM "$pid" || exit 1
x=$(printf '%04X|%04X' "$P1" "$P2")
n=0
while { read -r st < "/proc/$pid/stat"; } 2>/dev/null && case ${st##*) } in Z*|X*) false ;; esac \
    || grep -Eqs "^ *[0-9]+: [0-9A-F]+:($x) [0-9A-F]+:[0-9A-F]+ 0A " /proc/net/tcp /proc/net/tcp6; do
  n=$((n + 1))
  [ "$n" -le 900 ] || { echo "timed out: pid $pid or port $P1/$P2 still there" >&2; exit 4; }
  sleep 0.1
done
rm -f "$f"
