#!/usr/bin/env bash
# The quick start: a real run on this machine, no hosts needed.
#  1. builds target/obplay.jar if it is not there;
#  2. starts a demo cluster of real processes under /tmp/obplay-demo, installed and started the way obshell
#     and OBD start real ones (examples/standin/standin.py plays them): three observers (one per zone) and an
#     obproxy with its obproxyd watchdog, each with its pid file, its listening ports and its data dirs;
#  3. runs three playbooks on the `local` transport (inventories/local.yaml):
#     playbooks/restart-obproxy.yaml  obproxy restarted: watchdog first, TERM, start, ready, the watchdog again;
#     playbooks/stop-cluster.yaml     every observer stopped, zone by zone (TERM, wait for exit and free ports);
#     playbooks/start-cluster.yaml    every observer started again, zone by zone, each zone ready before the next;
#  4. shows the recorded DAGs. The cluster is left running (stop it: obplay run ... playbooks/teardown.yaml).
# The state directory is /tmp/obplay-demo-state, so your ~/.obplay stays untouched.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=target/obplay.jar
OBPLAY=bin/obplay  # the launcher: the same as `java -jar "$JAR"`, started faster (class-data archive, C1 only)
STATE=/tmp/obplay-demo-state
if [ ! -f "$JAR" ]; then
  echo "== building $JAR"
  mvn -B -q package -DskipTests
fi
echo "== starting the demo cluster under /tmp/obplay-demo"
python3 examples/standin/standin.py start-demo --root /tmp/obplay-demo
rc=0
for pb in restart-obproxy stop-cluster start-cluster; do
  echo
  echo "== obplay run -i inventories/local.yaml playbooks/$pb.yaml --yes"
  set +e
  "$OBPLAY" run -i inventories/local.yaml "playbooks/$pb.yaml" --yes --state-dir "$STATE"
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || break
done
echo
echo "== obplay dag list"
"$OBPLAY" dag list --state-dir "$STATE" -n 3
echo
echo "== the demo cluster runs again: each server's pid file and the process it names"
for f in /tmp/obplay-demo/*/run/*.pid; do
  printf '  %-58s %s\n' "$f" "$(ps -o pid=,comm= -p "$(cat "$f")" 2>/dev/null || echo 'not running')"
done
exit $rc
