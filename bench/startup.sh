#!/usr/bin/env bash
# Start-up benchmark: wall time (JVM start included) and peak RSS of planning the demo inventory's
# stop-cluster playbook, three ways:
#   java -jar       java -jar target/obplay.jar plan -i inventories/demo.yaml playbooks/stop-cluster.yaml
#   bin/obplay      the same through the launcher (class-data archive target/obplay.jsa, C1 only, serial GC)
#   ansible         ansible-playbook -i bench/startup/hosts.ini --list-tasks bench/startup/stop-cluster.yml:
#                   the same hosts and step for Ansible (bench/startup/), as a user runs it; contacts no host
# Each command runs once to warm the page cache, then RUNS times (default 5), the three taking turns so that
# a busy machine weighs on each alike; the table shows the median wall time and the median peak RSS
# (/usr/bin/time -f '%e %M'), and each command's wall time over Ansible's.
# Usage: [RUNS=N] bench/startup.sh           (builds target/obplay.jar, and its archive, if missing)
#        bench/startup.sh --smoke            one run each, no warm-up: exit 1 unless every command exits 0
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=false
case "${1:-}" in
  --smoke) smoke=true ;;
  "") ;;
  *) echo "usage: [RUNS=N] bench/startup.sh [--smoke]" >&2; exit 2 ;;
esac
runs=${RUNS:-5}
$smoke && runs=1
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "startup: RUNS must be a positive number" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "startup: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
command -v ansible-playbook > /dev/null || { echo "startup: needs ansible-playbook (Debian package ansible-core)" >&2; exit 1; }

[ -f target/obplay.jar ] || mvn -B -q package -DskipTests
[ -f target/obplay.jsa ] && [ target/obplay.jsa -nt target/obplay.jar ] \
  || echo "startup: no target/obplay.jsa newer than the jar: bin/obplay runs without the class-data archive" >&2

names=("java -jar" "bin/obplay" "ansible")
# argv I: the command line of command I, in the array argv
argv() {
  case $1 in
    0) argv=(java -jar target/obplay.jar plan -i inventories/demo.yaml playbooks/stop-cluster.yaml) ;;
    1) argv=(bin/obplay plan -i inventories/demo.yaml playbooks/stop-cluster.yaml) ;;
    2) argv=(env ANSIBLE_CONFIG=bench/startup/ansible.cfg
             ansible-playbook -i bench/startup/hosts.ini --list-tasks bench/startup/stop-cluster.yml) ;;
  esac
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
# run I: one timed run of command I; its "wall rss" line is added to $tmp/I
run() {
  argv "$1"
  if /usr/bin/time -f '%e %M' -o "$tmp/time" "${argv[@]}" > /dev/null 2> "$tmp/err"; then
    cat "$tmp/time" >> "$tmp/$1"
  else
    echo "startup: ${names[$1]} failed:" >&2
    { cat "$tmp/err"; grep '^Command ' "$tmp/time" || true; } | sed 's/^/  /' >&2
    failed=1
  fi
}

if ! $smoke; then
  for i in 0 1 2; do argv "$i"; "${argv[@]}" > /dev/null 2>&1 || true; done  # warm-up
fi
for _ in $(seq "$runs"); do
  for i in 0 1 2; do run "$i"; done
done

median() { sort -n | sed -n "$(( (runs + 1) / 2 ))p"; }
echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $runs run(s) each; $(java -version 2>&1 | head -1);" \
  "$(ansible-playbook --version | head -1)"
printf '%-12s %-12s %-13s %s\n' command median_wall_s peak_rss_mb vs_ansible
ansible_wall=
[ -s "$tmp/2" ] && ansible_wall=$(cut -d' ' -f1 "$tmp/2" | median)
for i in 0 1 2; do
  if [ ! -s "$tmp/$i" ] || [ "$(wc -l < "$tmp/$i")" -lt "$runs" ]; then
    printf '%-12s %s\n' "${names[$i]}" "failed"
    continue
  fi
  wall=$(cut -d' ' -f1 "$tmp/$i" | median)
  rss=$(cut -d' ' -f2 "$tmp/$i" | median)
  awk -v n="${names[$i]}" -v w="$wall" -v r="$rss" -v a="$ansible_wall" 'BEGIN {
    printf "%-12s %-13.2f %-13.0f %s\n", n, w, r / 1024, (a > 0 ? sprintf("%.2f", w / a) : "-") }'
done
if [ "$failed" = 1 ]; then
  echo "startup: some runs failed" >&2
  exit 1
fi
$smoke && echo "smoke: every command exited 0"
exit 0
