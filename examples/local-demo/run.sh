#!/usr/bin/env bash
# The quick start: a real run on this machine, no hosts needed.
#  1. builds target/obplay.jar if it is not there;
#  2. starts a demo cluster of real processes under /tmp/obplay-demo: three observers (one per zone) and an
#     obproxy with its obproxyd watchdog, each with its pid file, its listening ports and its data dirs
#     (examples/standin/standin.py plays them);
#  3. runs playbooks/teardown.yaml on the `local` transport (inventories/local.yaml): it stops the obproxy
#     (watchdog first), then each zone's observer (TERM, wait for exit and free ports), and cleans their dirs;
#  4. shows the recorded DAG.
# The state directory is /tmp/obplay-demo-state, so your ~/.obplay stays untouched.
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=target/obplay.jar
STATE=/tmp/obplay-demo-state
if [ ! -f "$JAR" ]; then
  echo "== building $JAR"
  mvn -B -q package -DskipTests
fi
echo "== starting the demo cluster under /tmp/obplay-demo"
python3 examples/standin/standin.py start-demo --root /tmp/obplay-demo
echo
echo "== obplay run -i inventories/local.yaml playbooks/teardown.yaml --yes"
set +e
java -jar "$JAR" run -i inventories/local.yaml playbooks/teardown.yaml --yes --state-dir "$STATE"
rc=$?
set -e
echo
echo "== obplay dag list"
java -jar "$JAR" dag list --state-dir "$STATE" -n 3
echo
echo "== what is left of the demo cluster (homes and bin/ stay; logs, data and pid files are gone)"
find /tmp/obplay-demo -maxdepth 2 | sort
exit $rc
