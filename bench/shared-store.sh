#!/usr/bin/env bash
# Work spread over obplay instances that share one MariaDB store (issue 11), on this one machine:
#   1. one stage of N local-transport servers (a shell step: sleep S on each), run by `obplay run` alone, then with one
#      and two `obplay serve` instances helping: wall time of the run and each instance's share of the sub-tasks;
#   2. the takeover: `obplay run` killed -9 mid-stage, one `obplay serve` takes the DAG over once the lease ran out:
#      seconds from the kill to "took over", and to the DAG's SUCCEED;
#   3. what one sub-task record costs (RUNNING with a log line, then SUCCEED with two), SQLite against MySQL protocol,
#      plain (as one instance writes) and through claims (as shared instances write): bench/store/RecordCost.java.
# Every instance here shares this machine's cores with the others and with MariaDB: see BENCHMARKS.md for the
# projection to separate machines.
#
#   bench/shared-store.sh                   # N = 200, S = 2 s, instances 1 2 3, lease 5s, 2000 records
#   bench/shared-store.sh --n 50 --sleep 1  # smaller
#   bench/shared-store.sh --parts spread --instances 1 --n 50   # only part 1, one instance (OBPLAY_JAR=... for another build)
#   bench/shared-store.sh --smoke           # N = 12, S = 1, 200 records: proves the script works (exit 1 on any failure)
#   bench/shared-store.sh --parts spread --inventory /tmp/obplay-fleet/inv/obplay-200.yaml --n 200
#                                           # part 1 on real SSH hosts: the loopback fleet of `bench/fleet.sh --hold 200`
#                                           # (each instance then opens its own SSH sessions to its share of the hosts)
#
# Needs: java 17+, mariadb-server (mariadbd, mariadb-install-db, mariadb client; .ci/setup.sh installs it), python3;
# target/obplay.jar (mvn -B -q package -DskipTests). Writes bench/shared-store/results/{runs.tsv,summary.md}.
set -euo pipefail
cd "$(dirname "$0")/.."
N=200 SLEEP=2 INSTANCES="1 2 3" LEASE=5s RECORDS=2000 TAKEOVER_N=20 SMOKE=0 PARTS=spread,takeover,records FLEET_INV=
while [ $# -gt 0 ]; do
  case "$1" in
    --n) N=$2; shift 2 ;;
    --sleep) SLEEP=$2; shift 2 ;;
    --instances) INSTANCES=$2; shift 2 ;;
    --lease) LEASE=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --parts) PARTS=$2; shift 2 ;;
    --inventory) FLEET_INV=$2; shift 2 ;;
    --smoke) SMOKE=1 N=12 SLEEP=1 RECORDS=200 TAKEOVER_N=6; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "shared-store.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
JAR=${OBPLAY_JAR:-target/obplay.jar}
[ -f "$JAR" ] || { echo "shared-store.sh: no $JAR: run mvn -B -q package -DskipTests" >&2; exit 1; }
for c in java python3 mariadbd mariadb-install-db mariadb; do
  command -v "$c" > /dev/null || [ -x "/usr/sbin/$c" ] || { echo "shared-store.sh: $c is missing (bash .ci/setup.sh)" >&2; exit 1; }
done
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
OUT=bench/shared-store/results
mkdir -p "$OUT"
tmp=$(mktemp -d /tmp/obplay-shared-store.XXXXXX)
pids=()
db_pid=
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  if [ -n "$db_pid" ]; then kill "$db_pid" 2> /dev/null || true; wait "$db_pid" 2> /dev/null || true; fi
  if [ -n "${KEEP_TMP:-}" ]; then echo "shared-store.sh: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT INT TERM
now() { date +%s.%N; }
secs() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# ------------------------------------------------------------------------------------------------ MariaDB, our own
export OBPLAY_STORE_PASSWORD=bench-store-pw
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_root=(); [ "$(id -u)" = 0 ] && as_root=(--user=root)
mariadb-install-db --no-defaults --datadir="$tmp/db" --auth-root-authentication-method=socket --skip-test-db \
  "${as_root[@]}" > "$tmp/install.log" 2>&1
printf "CREATE USER IF NOT EXISTS 'obplay'@'%%' IDENTIFIED BY '%s';\nGRANT ALL PRIVILEGES ON *.* TO 'obplay'@'%%';\n" \
  "$OBPLAY_STORE_PASSWORD" > "$tmp/init.sql"
"$MARIADBD" --no-defaults --datadir="$tmp/db" --socket="$tmp/db.sock" --port="$port" --bind-address=127.0.0.1 \
  --pid-file="$tmp/db.pid" --log-error="$tmp/db.err" --init-file="$tmp/init.sql" --skip-name-resolve \
  --innodb-buffer-pool-size=128M --max-connections=300 "${as_root[@]}" &
db_pid=$!
sql() { mariadb --no-defaults -h 127.0.0.1 -P "$port" -u obplay -p"$OBPLAY_STORE_PASSWORD" -N -e "$1"; }
for _ in $(seq 100); do sql 'SELECT 1' > /dev/null 2>&1 && break; sleep 0.2; done
sql 'SELECT 1' > /dev/null
db_version=$(sql 'SELECT VERSION()')
store() { echo "jdbc:mariadb://127.0.0.1:$port/$1?user=obplay"; }
newdb() { sql "CREATE DATABASE $1 DEFAULT CHARACTER SET utf8mb4"; store "$1"; }

# ------------------------------------------------------------------------------------------------ the fleet
inventory() { # $1 = servers, $2 = file
  python3 - "$1" "$tmp" > "$2" <<'PY'
import sys
n, tmp = int(sys.argv[1]), sys.argv[2]
print("cluster: bench\ntransport: local\nzones:")
for z in range(3):
    print(f"  zone{z + 1}:\n    servers:")
    for i in range(z, n, 3):
        print(f"      - {{ host: 127.0.0.1, home_path: {tmp}/h{i}, mysql_port: {20000 + 2 * i}, rpc_port: {20001 + 2 * i},"
              f" agent_port: {30000 + i} }}")
PY
  for i in $(seq 0 $(($1 - 1))); do mkdir -p "$tmp/h$i"; done
}
playbook() { # $1 = seconds, $2 = file
  printf 'name: shared store benchmark\ntargets: { all: true }\nstrategy: parallel\nforks: 200\nsteps:\n  - shell: "sleep %s"\n' "$1" > "$2"
}
serve() { # $1 = name, $2 = store, $3 = inventory: starts it, waits until it listens, prints its pid
  java -jar "$JAR" serve -i "$3" --insecure-no-auth --listen 127.0.0.1:0 --store "$2" --lease "$LEASE" --state-dir "$tmp/state-$1" \
    > /dev/null 2> "$tmp/$1.err" &
  local p=$!
  for _ in $(seq 300); do grep -q 'listening on' "$tmp/$1.err" && break; kill -0 "$p" 2> /dev/null || break; sleep 0.2; done
  grep -q 'listening on' "$tmp/$1.err" || { echo "shared-store.sh: serve $1 did not start:" >&2; cat "$tmp/$1.err" >&2; exit 1; }
  echo "$p"
}
shares() { # $1 = store, $2 = dag id, $3... = name=pid: prints "name:count ..." and checks every sub-task ran once
  java -jar "$JAR" dag show "$2" --format obshell --store "$1" > "$tmp/show.json"
  python3 - "$tmp/show.json" "${@:3}" <<'PY'
import json, sys
dag = json.load(open(sys.argv[1]))
names = dict(a.split("=", 1)[::-1] for a in sys.argv[2:])  # pid -> name
counts, bad = {}, []
for node in dag["nodes"]:
    for t in node["sub_tasks"]:
        if t["state"] != "SUCCEED" or t["execute_times"] != 1:
            bad.append(t["id"])
        who = names.get(t.get("ran_by", "?").split("@")[0], t.get("ran_by", "?"))
        counts[who] = counts.get(who, 0) + 1
print(" ".join(f"{k}:{v}" for k, v in sorted(counts.items())) + (f" NOT-ONCE:{len(bad)}" if bad else ""))
sys.exit(1 if bad or dag["state"] != "SUCCEED" else 0)
PY
}

failed=0
printf 'date\tload1\tbench\tn\tinstances\tseconds\tdetail\n' > "$OUT/runs.tsv"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$(cut -d' ' -f1 /proc/loadavg)" "$@" >> "$OUT/runs.tsv"; echo "$*"; }

if [ -n "$FLEET_INV" ]; then
  cp "$FLEET_INV" "$tmp/inv.yaml" # an SSH fleet's (its N servers; --n only names the row)
else
  inventory "$N" "$tmp/inv.yaml"
fi
playbook "$SLEEP" "$tmp/play.yaml"
part() { case ",$PARTS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
part spread || INSTANCES=
for k in $INSTANCES; do
  url=$(newdb "spread$k")
  helpers=()
  names=()
  for j in $(seq 2 "$k"); do
    p=$(serve "s$k-$j" "$url" "$tmp/inv.yaml"); pids+=("$p"); helpers+=("$p"); names+=("serve$j=$p")
  done
  sleep 1 # each serve has recorded its presence
  t0=$(now)
  java -jar "$JAR" run --yes -i "$tmp/inv.yaml" "$tmp/play.yaml" --store "$url" --lease "$LEASE" \
    --state-dir "$tmp/state-run$k" > "$tmp/run$k.out" 2> "$tmp/run$k.err" &
  rp=$!
  rc=0; wait "$rp" || rc=$?
  t1=$(now)
  id=$(sql "SELECT generic_id FROM spread$k.dags ORDER BY id DESC LIMIT 1")
  detail=$(shares "$url" "$id" "run=$rp" "${names[@]}") || { failed=1; detail="$detail FAILED (exit $rc)"; }
  [ "$rc" = 0 ] || { failed=1; detail="$detail run exit $rc"; }
  row "spread${FLEET_INV:+ (ssh)}" "$N" "$k" "$(secs "$t0" "$t1")" "$detail"
  for p in "${helpers[@]}"; do kill -9 "$p" 2> /dev/null || true; done
done

# ------------------------------------------------------------------------------------------------ takeover
if part takeover; then
inventory "$TAKEOVER_N" "$tmp/inv-t.yaml"
playbook 8 "$tmp/play-t.yaml"
url=$(newdb takeover)
b=$(serve taker "$url" "$tmp/inv-t.yaml"); pids+=("$b")
java -jar "$JAR" run --yes -i "$tmp/inv-t.yaml" "$tmp/play-t.yaml" --store "$url" --lease "$LEASE" \
  --state-dir "$tmp/state-holder" > /dev/null 2> "$tmp/holder.err" &
holder=$!
pids+=("$holder")
for _ in $(seq 150); do [ "$(sql "SELECT COUNT(*) FROM takeover.sub_tasks WHERE state = 'RUNNING'" 2> /dev/null || echo 0)" -gt 0 ] && break; sleep 0.2; done
sleep 1
tk=$(now); { kill -9 "$holder"; wait "$holder"; } 2> /dev/null || true
tt=; td=
for _ in $(seq 600); do
  [ -z "$tt" ] && grep -q 'took over DAG' "$tmp/taker.err" && tt=$(now)
  [ "$(sql "SELECT state FROM takeover.dags ORDER BY id DESC LIMIT 1")" = SUCCEED ] && { td=$(now); break; }
  sleep 0.1
done
if [ -n "$tt" ] && [ -n "$td" ]; then
  id=$(sql "SELECT generic_id FROM takeover.dags ORDER BY id DESC LIMIT 1")
  once=$(sql "SELECT COUNT(*) FROM takeover.sub_tasks WHERE state <> 'SUCCEED'")
  row takeover "$TAKEOVER_N" 2 "$(secs "$tk" "$tt")" "lease $LEASE; kill -9 to took-over $(secs "$tk" "$tt") s, to SUCCEED $(secs "$tk" "$td") s; unfinished $once"
  [ "$once" = 0 ] || failed=1
else
  failed=1; row takeover "$TAKEOVER_N" 2 - "FAILED: no takeover or no SUCCEED"; cat "$tmp/taker.err" >&2
fi
kill -9 "$b" 2> /dev/null || true
fi

# ------------------------------------------------------------------------------------------------ record cost
RECORD_SPECS=("sqlite:$tmp/records.db plain" "$(newdb rplain) plain" "$(newdb rclaimed) claimed")
part records || RECORD_SPECS=()
for spec in "${RECORD_SPECS[@]}"; do
  set -- $spec
  for threads in 1 50; do
    line=$(java -cp "$JAR" bench/store/RecordCost.java "$1" "$RECORDS" "$threads" "$2") || { failed=1; line="FAILED"; }
    row records "$RECORDS" 1 "$(echo "$line" | cut -f5)" "$(echo "$line" | awk -F'\t' '{print $1 " " $2 ", " $4 " threads: " $6 " records/s, " $7 " us each"}')"
  done
  rm -f "$tmp"/records.db*
done

{
  echo "# shared-store benchmark, $(date -u +%F) (MariaDB $db_version, $(nproc) cores, obplay $(git rev-parse --short HEAD 2> /dev/null || echo '?'))"
  echo
  echo "| bench | N | instances | seconds | detail | load (1 min) at start |"
  echo "|---|---:|---:|---:|---|---:|"
  tail -n +2 "$OUT/runs.tsv" | awk -F'\t' '{print "| " $3 " | " $4 " | " $5 " | " $6 " | " $7 " | " $2 " |"}'
} > "$OUT/summary.md"
cat "$OUT/summary.md"
exit "$failed"
