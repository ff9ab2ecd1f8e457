#!/usr/bin/env bash
# Planner benchmark: for 1,000, 10,000 and 100,000 servers (or the sizes given), generate an inventory and
# time `obplay plan --format obshell` of bench/five-steps.yaml (5 steps on every server), JVM start included,
# with peak memory. Each size is run once to warm the page cache, then RUNS times (default 3); the run with the
# median wall time is shown, with its CPU time (user + system, all threads: JIT and GC included).
# Usage: [RUNS=N] [OBPLAY="bin/obplay"] bench/plan.sh [SIZES...]
#        OBPLAY is the command to time (default: java -jar target/obplay.jar); builds the jar if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f target/obplay.jar ] || mvn -B -q package -DskipTests
read -r -a obplay <<< "${OBPLAY:-java -jar target/obplay.jar}"
runs=${RUNS:-3}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
steps=5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%-9s %-10s %-8s %-7s %-12s %-8s %s\n' servers sub_tasks wall_s cpu_s peak_rss_mb json_mb us_per_subtask
for n in "${sizes[@]}"; do
  bench/gen-inventory.sh "$n" > "$tmp/inv.yaml"
  "${obplay[@]}" plan -i "$tmp/inv.yaml" bench/five-steps.yaml -f obshell > /dev/null  # warm the page cache
  : > "$tmp/times"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "${obplay[@]}" plan -i "$tmp/inv.yaml" bench/five-steps.yaml -f obshell > "$tmp/plan.json"
    cat "$tmp/time" >> "$tmp/times"
  done
  read -r wall user sys rss < <(sort -n -k1 "$tmp/times" | sed -n "$(( (runs + 1) / 2 ))p")
  size=$(stat -c %s "$tmp/plan.json")
  awk -v n="$n" -v k="$steps" -v w="$wall" -v c="$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" -v r="$rss" -v s="$size" 'BEGIN {
    printf "%-9d %-10d %-8.2f %-7.2f %-12.0f %-8.1f %.1f\n", n, n * k, w, c, r / 1024, s / 1048576, w * 1e6 / (n * k) }'
done
