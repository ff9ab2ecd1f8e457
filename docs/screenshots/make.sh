#!/usr/bin/env bash
# Remakes the README's screenshots of the DAG page and of a plan, from real runs on this machine:
#   - dag-list.png, dag-running.png, dag-succeed.png, dag-failed.png: DagPageBrowserTest (obplay serve stopping
#     stand-in observers, headless Chromium through Selenium) with OBPLAY_SCREENSHOTS set
#   - plan.png: `obplay plan --format html` of playbooks/destroy-obproxy.yaml on inventories/demo.yaml, in headless Chromium
# Needs what .ci/setup.sh installs (chromium, chromium-driver) and a built jar (mvn -B -q -o package -DskipTests).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$ROOT/docs/screenshots"
cd "$ROOT"
OBPLAY_SCREENSHOTS="$OUT" mvn -B -q -o test -Dtest=DagPageBrowserTest
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
java -jar target/obplay.jar plan -i inventories/demo.yaml playbooks/destroy-obproxy.yaml --format html -o "$TMP/plan.html"
chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$TMP/profile" --window-size=1280,900 \
  --screenshot="$OUT/plan.png" "file://$TMP/plan.html" >/dev/null 2>&1
ls -l "$OUT"/*.png
