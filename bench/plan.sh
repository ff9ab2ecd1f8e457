#!/usr/bin/env bash
# Planner benchmark: for 1,000, 10,000 and 100,000 servers (or the sizes given), generate an inventory and
# time `obplay plan --format obshell` of bench/five-steps.yaml, JVM start included, with peak memory.
# Usage: bench/plan.sh [SIZES...]      (builds target/obplay.jar if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f target/obplay.jar ] || mvn -B -q package -DskipTests
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-9s %-9s %-11s %-13s %-12s %s\n' servers steps wall_s peak_rss_mb json_mb us_per_subtask
for n in "${sizes[@]}"; do
  bench/gen-inventory.sh "$n" > "$tmp/inv.yaml"
  java -jar target/obplay.jar plan -i "$tmp/inv.yaml" bench/five-steps.yaml -f obshell > /dev/null  # warm the page cache
  /usr/bin/time -f '%e %M' -o "$tmp/time" java -jar target/obplay.jar plan -i "$tmp/inv.yaml" bench/five-steps.yaml -f obshell > "$tmp/plan.json"
  read -r wall rss < "$tmp/time"
  size=$(stat -c %s "$tmp/plan.json")
  awk -v n="$n" -v w="$wall" -v r="$rss" -v s="$size" 'BEGIN {
    printf "%-9d %-9d %-11.2f %-13.0f %-12.1f %.1f\n", n, 5, w, r / 1024, s / 1048576, w * 1e6 / (n * 5) }'
done
