#!/usr/bin/env bash
# Shim benchmark: wrk against `obplay serve` with auth v2 on, beside the floor (the JDK's bare HttpServer).
#
#   bench/shim.sh            # warm-up then DURATION s per target; prints a table
#   bench/shim.sh --smoke    # 1 s per target, no warm-up; exit 1 unless every run got 2xx answers and nothing else
#
# Environment (defaults in brackets):
#   THREADS [2], CONNECTIONS [50], DURATION [10] (s), WARMUP [3] (s, a run per target that is not counted)
#   NODELAY [on]: on | off | both. "on" is how `obplay serve` ships (it sets -Dsun.net.httpserver.nodelay=true
#     unless told otherwise: TCP_NODELAY on accepted sockets); "off" is the JDK's default. With it off, the JDK
#     server writes the headers and the body of an answer separately and the second write waits for the
#     client's delayed ACK (~40 ms on Linux), so both servers sit at ~CONNECTIONS/44ms requests/s.
#     Since issue 17 the shim runs on Jetty, which always sets TCP_NODELAY: the setting then moves the floor
#     only (and a pre-Jetty OBPLAY_JAR, which is how to compare the two: OBPLAY_JAR=old.jar bench/shim.sh).
#   SERVER_THREADS [16]: handler threads of both servers (obplay serve --threads' default)
#   SERVER_JAVA_OPTS: extra JVM flags for both servers;  SERVER_CPUS / WRK_CPUS: taskset CPU lists (unset: none)
#   POOL: auth v2 headers for the measured DAG run (default: sized from the warm-up's rate, see below)
#   POOL_FACTOR [4]: pool = warm-up requests/s x DURATION x POOL_FACTOR, at least 30,000 and at most 110,000
#     (the warm-up runs on a cold JIT: the measured run was up to 2.3x faster here; past 100,000 accepted
#     headers the replay cache is full anyway). dag.lua reports unused headers and any request it had to send
#     without one (GET /bench/pool-exhausted, a 404); a run that ran out counts as failed.
#   OBPLAY_JAR [target/obplay.jar, built with mvn if missing];  RESULTS: a directory to copy raw outputs to
#
# Needs: java 17+, wrk (apt-get install wrk), curl (apt-get install curl); mvn only to build the jar.
#
# Per NODELAY setting it starts, on free loopback ports (port 0):
#   - the shim: java -jar OBPLAY_JAR serve -i TMP/inv.yaml --listen 127.0.0.1:0 --agent 127.0.0.1:2886
#     --state-dir TMP/state --drain 2s, with OBPLAY_AGENT_PASSWORD set (a random one), so auth v2 is on
#     (`security: true`); the inventory has 3 observers on the `local` transport whose homes are empty
#     directories under TMP, so nothing runs there and no host is needed. Its access log goes to a file.
#   - the floor: java bench/shim/BareServer.java 0 SERVER_THREADS: the JDK HttpServer set-up the shim had
#     before it moved to Jetty (backlog 128; ThreadPoolExecutor(16, 16) with an ArrayBlockingQueue(64) and CallerRunsPolicy;
#     maxReqTime/maxRspTime 60) answering a fixed JSON string, with no auth, store, JSON or log;
#   - the crypto floor: the same with the shim's RSA key (java bench/shim/BareServer.java 0 THREADS KEY.pem): it
#     also RSA-decrypts each request's auth v2 header, the one costly thing obshell's protocol makes every
#     server do per request, and nothing else. The shim's DAG GET over it is what obplay's own code costs.
# Once, it creates a DAG the way obshell's Python SDK would (bench/shim/Headers.java stop: POST /api/v1/ob/stop
# GLOBAL force, then polls it until it has finished), and shows one GET of it with curl.
# Then wrk (-t THREADS -c CONNECTIONS --latency) runs against: the floor (GET /), the shim's GET /api/v1/info
# (no auth) and GET /api/v1/task/dag/ID (X-OCS-Agent-Header, the Python SDK's way). The shim refuses a header
# it has accepted before (401 Security.Authentication.Header.Replayed, which also counts against the client's
# failed-login budget), so every DAG request carries its own header: Headers.java pre-generates a pool (ts =
# now + DURATION + 60 s; the shim takes at most 90 s ahead) and bench/shim/dag.lua gives each wrk thread its
# own slice of it. The replay cache holds every accepted header until its ts, at most 100,000: past that the
# shim answers 429 Security.Authentication.TooManyRequests, which this script would show as non-2xx.
#
# The table also gives each server's CPU time per request (user + system, from /proc/PID/stat, over the measured
# run), and what the DAG GET costs beyond the crypto floor. It moves less with other load than requests/s do, but
# it counts the JIT's and the collector's threads too: compare jars by it only after the same warm-up, and never on
# a machine so loaded that the JIT has not finished (the crypto floor has no warm-up run of its own).
#
# Everything started is ended on exit, also on Ctrl-C; TMP is removed. Exit status: 0 when every run got only
# 2xx answers (and at least one); otherwise 1 with --smoke, 2 without (the table is printed either way); 1 for
# setup errors (a missing tool, a server that does not start, a DAG that cannot be made).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit "${1:-0}"; }

SMOKE=0
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) SMOKE=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "shim.sh: unknown argument $1" >&2; usage 1 >&2 ;;
  esac
done

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
SERVER_THREADS=${SERVER_THREADS:-16}
NODELAY=${NODELAY:-on}
POOL_FACTOR=${POOL_FACTOR:-4}
if [ "$SMOKE" = 1 ]; then
  DURATION=${DURATION:-1}
  WARMUP=${WARMUP:-0}
else
  DURATION=${DURATION:-10}
  WARMUP=${WARMUP:-3}
fi
case $NODELAY in
  off) modes=(off) ;;
  on) modes=(on) ;;
  both) modes=(off on) ;;
  *) echo "shim.sh: NODELAY must be off, on or both, not '$NODELAY'" >&2; exit 1 ;;
esac
for v in THREADS CONNECTIONS SERVER_THREADS DURATION WARMUP POOL_FACTOR; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "shim.sh: $v must be a whole number, not '${!v}'" >&2; exit 1; }
done
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 30 ]; then
  echo "shim.sh: DURATION must be 1 to 30 s: a header (ts = now + DURATION + 60) may expire at most 90 s after it is made" >&2
  exit 1
fi

missing=()
command -v java > /dev/null || missing+=("java 17+ (apt-get install openjdk-17-jdk-headless)")
command -v wrk > /dev/null || missing+=("wrk (apt-get install wrk)")
command -v curl > /dev/null || missing+=("curl (apt-get install curl)")
if [ -z "${OBPLAY_JAR:-}" ] && [ ! -f target/obplay.jar ]; then
  command -v mvn > /dev/null || missing+=("mvn, to build target/obplay.jar (apt-get install maven)")
fi
if [ -n "${SERVER_CPUS:-}${WRK_CPUS:-}" ]; then
  command -v taskset > /dev/null || missing+=("taskset, for SERVER_CPUS/WRK_CPUS (apt-get install util-linux)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "shim.sh: missing: ${missing[*]}" >&2
  exit 1
fi
if [ -z "${OBPLAY_JAR:-}" ]; then
  [ -f target/obplay.jar ] || mvn -B -q package -DskipTests
  OBPLAY_JAR=target/obplay.jar
fi

read -r -a server_opts <<< "${SERVER_JAVA_OPTS:-}"
server_pin=()
wrk_pin=()
[ -z "${SERVER_CPUS:-}" ] || server_pin=(taskset -c "$SERVER_CPUS")
[ -z "${WRK_CPUS:-}" ] || wrk_pin=(taskset -c "$WRK_CPUS")

tmp=$(mktemp -d /tmp/obplay-shim-bench.XXXXXX)
pids=()

stop_pids() {
  local p
  for p in "${pids[@]}"; do
    kill "$p" 2> /dev/null || true
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$p" 2> /dev/null || break
      sleep 0.1
    done
    kill -9 "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
  done
  pids=()
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pids
  if [ -n "${RESULTS:-}" ]; then
    mkdir -p "$RESULTS"
    cp "$tmp"/*.txt "$tmp"/*.log "$RESULTS"/ 2> /dev/null || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------------ servers

# 3 observers on the local transport, homes under TMP (empty: the stop finds no process and touches nothing else)
mkdir -p "$tmp/ob"
{
  echo "cluster: shim-bench"
  echo "transport: local"
  echo "zones:"
  for z in 1 2 3; do
    echo "  zone$z:"
    echo "    servers:"
    echo "      - { host: 127.0.0.1, home_path: $tmp/ob/zone$z-a, mysql_port: 3${z}881, rpc_port: 3${z}882, agent_port: 3${z}886 }"
  done
} > "$tmp/inv.yaml"
OBPLAY_AGENT_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export OBPLAY_AGENT_PASSWORD
unset OBPLAY_ROOT_PASSWORD OBPLAY_OCP_USER OBPLAY_OCP_PASSWORD

# await_port FILE PID WHAT: the port of the "listening on http://127.0.0.1:PORT" line in FILE
await_port() {
  local port=""
  for _ in $(seq 300); do
    port=$(grep -o -m1 'listening on http://127\.0\.0\.1:[0-9]*' "$1" 2> /dev/null | grep -o '[0-9]*$' || true)
    [ -z "$port" ] || { echo "$port"; return 0; }
    kill -0 "$2" 2> /dev/null || break
    sleep 0.1
  done
  echo "shim.sh: $3 did not start:" >&2
  cat "$1" >&2
  return 1
}

shim_port=""
floor_port=""
crypto_port=""
start_servers() { # MODE
  local flag=()
  if [ "$1" = off ]; then flag=(-Dsun.net.httpserver.nodelay=false); else flag=(-Dsun.net.httpserver.nodelay=true); fi
  "${server_pin[@]}" java "${flag[@]}" "${server_opts[@]}" -jar "$OBPLAY_JAR" serve -i "$tmp/inv.yaml" \
    --listen 127.0.0.1:0 --agent 127.0.0.1:2886 --state-dir "$tmp/state" --threads "$SERVER_THREADS" --drain 2s \
    < /dev/null > /dev/null 2> "$tmp/serve-nodelay-$1.log" &
  pids+=($!)
  shim_port=$(await_port "$tmp/serve-nodelay-$1.log" "$!" "obplay serve")
  "${server_pin[@]}" java "${flag[@]}" "${server_opts[@]}" bench/shim/BareServer.java 0 "$SERVER_THREADS" \
    < /dev/null > "$tmp/floor-nodelay-$1.log" 2>&1 &
  pids+=($!)
  floor_port=$(await_port "$tmp/floor-nodelay-$1.log" "$!" "the floor (bench/shim/BareServer.java)")
  # the crypto floor: the same, plus the RSA decryption of each request's auth v2 header with the shim's key
  "${server_pin[@]}" java "${flag[@]}" "${server_opts[@]}" bench/shim/BareServer.java 0 "$SERVER_THREADS" \
    "$tmp/state/serve-rsa-key.pem" < /dev/null > "$tmp/crypto-nodelay-$1.log" 2>&1 &
  pids+=($!)
  crypto_port=$(await_port "$tmp/crypto-nodelay-$1.log" "$!" "the crypto floor (bench/shim/BareServer.java KEY)")
}

headers() { # MODE ARGS...: bench/shim/Headers.java against the shim (the password from the environment)
  local mode=$1
  shift
  java bench/shim/Headers.java "$mode" --url "http://127.0.0.1:$shim_port" --password - --header agent "$@"
}

# ------------------------------------------------------------------------------------------------ wrk

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks (/proc/PID/stat fields 14 and 15)
cpu_ticks() {
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
TICKS=$(getconf CLK_TCK)

# wrk_run NAME URL [wrk args...]: runs wrk, keeps its output in TMP/wrk-NAME.txt (and shows it); with SERVER_PID
# set, also the CPU time that server used meanwhile, in TMP/cpu-NAME.txt (ticks)
wrk_run() {
  local name=$1 url=$2 secs t0=""
  shift 2
  secs=$DURATION
  [[ $name != warmup-* ]] || secs=$WARMUP
  [ -z "${SERVER_PID:-}" ] || t0=$(cpu_ticks "$SERVER_PID")
  "${wrk_pin[@]}" wrk -t "$THREADS" -c "$CONNECTIONS" -d "${secs}s" --latency "$url" "$@" > "$tmp/wrk-$name.txt" 2>&1 || {
    cat "$tmp/wrk-$name.txt" >&2
    echo "shim.sh: wrk failed ($name)" >&2
    return 1
  }
  [ -z "$t0" ] || echo $(($(cpu_ticks "$SERVER_PID") - t0)) > "$tmp/cpu-$name.txt"
  [[ $name == warmup-* ]] || sed 's/^/    /' "$tmp/wrk-$name.txt"
}

# wrk_field FILE rps|p99|requests|non2xx|errors
wrk_field() {
  awk -v what="$2" '
    function ms(v) {
      if (v ~ /us$/) return v * 0.001
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000
      if (v ~ /s$/) return v * 1000
      return v + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    / requests in / { requests = $1 }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { errors = $4 + $6 + $8 + $10 }
    END {
      if (what == "rps") print rps + 0
      else if (what == "p99") printf "%.2f\n", p99
      else if (what == "requests") print requests + 0
      else if (what == "non2xx") print non2xx + 0
      else print errors + 0
    }' "$1"
}

# the shim's answers to GET /api/v1/task/dag since line N of its log: "count status errCode" lines
answers_since() { # LOG N
  tail -n "+$(($2 + 1))" "$1" | awk '$3 == "\"GET" && $4 ~ /^\/api\/v1\/task\/dag\// { print $5, ($8 == "" ? "-" : $8) }' | sort | uniq -c
}

rows=()
failures=()

record() { # MODE TARGET NAME
  local f="$tmp/wrk-$3.txt" rps p99 requests non2xx errors cpu
  rps=$(wrk_field "$f" rps)
  p99=$(wrk_field "$f" p99)
  requests=$(wrk_field "$f" requests)
  non2xx=$(wrk_field "$f" non2xx)
  errors=$(wrk_field "$f" errors)
  cpu=$(awk -v t="$(cat "$tmp/cpu-$3.txt" 2> /dev/null || echo 0)" -v hz="$TICKS" -v n="$requests" \
    'BEGIN { printf "%.0f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  rows+=("$1|$2|$rps|$p99|$((requests - non2xx))|$non2xx|$errors|$cpu")
  if [ "$((requests - non2xx))" -le 0 ] || [ "$non2xx" -gt 0 ]; then
    failures+=("nodelay=$1 $2: $((requests - non2xx)) 2xx, $non2xx non-2xx")
  fi
}

# ------------------------------------------------------------------------------------------------ run

echo "shim.sh: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t $THREADS -c $CONNECTIONS, ${WARMUP} s warm-up +" \
  "${DURATION} s per target; server threads $SERVER_THREADS; $(java -version 2>&1 | head -1)"
dag_id=""
for mode in "${modes[@]}"; do
  echo
  echo "== TCP_NODELAY $mode"
  start_servers "$mode"
  echo "shim http://127.0.0.1:$shim_port (pid ${pids[0]}), floor http://127.0.0.1:$floor_port (pid ${pids[1]})"
  shim_log="$tmp/serve-nodelay-$mode.log"

  if [ -z "$dag_id" ]; then
    dag_id=$(headers stop)
    headers pool --uri "/api/v1/task/dag/$dag_id" --count 1 --ttl 60 --out "$tmp/sample-header" 2> /dev/null
    curl -sS -H "X-OCS-Agent-Header: $(cat "$tmp/sample-header")" "http://127.0.0.1:$shim_port/api/v1/task/dag/$dag_id" \
      > "$tmp/sample-dag.txt"
    echo "one GET /api/v1/task/dag/$dag_id with a pool header ($(wc -c < "$tmp/sample-dag.txt") bytes):"
    echo "    $(head -c 400 "$tmp/sample-dag.txt")..."
    grep -q '"successful":true' "$tmp/sample-dag.txt" || { echo "shim.sh: the sample GET did not succeed" >&2; exit 1; }
  fi
  path="/api/v1/task/dag/$dag_id"

  floor_url="http://127.0.0.1:$floor_port/"
  info_url="http://127.0.0.1:$shim_port/api/v1/info"
  dag_url="http://127.0.0.1:$shim_port"

  rate=5000 # requests/s assumed when there is no warm-up
  if [ "$WARMUP" -gt 0 ]; then
    echo "warming up ($WARMUP s per target)"
    headers pool --uri "$path" --count $((WARMUP * 5000)) --ttl $((WARMUP + 60)) --out "$tmp/pool-warmup" 2> /dev/null
    wrk_run "warmup-floor-$mode" "$floor_url"
    wrk_run "warmup-info-$mode" "$info_url"
    wrk_run "warmup-dag-$mode" "$dag_url" -s bench/shim/dag.lua -- "$tmp/pool-warmup" "$path" "$THREADS" 2> /dev/null
    rate=$(wrk_field "$tmp/wrk-warmup-dag-$mode.txt" rps)
  fi
  pool=${POOL:-$(awk -v r="$rate" -v d="$DURATION" -v f="$POOL_FACTOR" 'BEGIN { n = int(r * d * f) + 1; print (n < 30000 ? 30000 : (n > 110000 ? 110000 : n)) }')}
  headers pool --uri "$path" --count "$pool" --ttl $((DURATION + 60)) --out "$tmp/pool-$mode" --threads "$(nproc)" 2> "$tmp/pool-$mode.log"
  echo "$(cat "$tmp/pool-$mode.log") [warm-up rate $rate/s x ${DURATION} s x $POOL_FACTOR]"
  held=$(grep -c '"GET /api/v1/task/dag/' "$shim_log" || true)
  if [ $((pool + held)) -gt 100000 ]; then
    echo "note: with up to $pool more headers, the replay cache (100,000 unexpired headers; $held held) can fill:" \
      "the shim then answers 429 Security.Authentication.TooManyRequests"
  fi

  echo "-- floor: GET $floor_url"
  SERVER_PID=${pids[1]} wrk_run "floor-$mode" "$floor_url"
  record "$mode" "floor (bare JDK HttpServer)" "floor-$mode"
  echo "-- shim: GET $info_url (no auth)"
  SERVER_PID=${pids[0]} wrk_run "info-$mode" "$info_url"
  record "$mode" "shim GET /api/v1/info" "info-$mode"
  echo "-- shim: GET $dag_url$path (auth v2, a distinct header per request)"
  before=$(wc -l < "$shim_log")
  SERVER_PID=${pids[0]} wrk_run "dag-$mode" "$dag_url$path" -s bench/shim/dag.lua -- "$tmp/pool-$mode" "$path" "$THREADS"
  record "$mode" "shim GET /api/v1/task/dag/{id} (auth v2)" "dag-$mode"
  echo "    the shim's answers to those (access log: count, status, errCode):"
  answers_since "$shim_log" "$before" | sed 's/^/    /'
  if grep -q 'requests without a header' "$tmp/wrk-dag-$mode.txt" && ! grep -q ', 0 requests without a header' "$tmp/wrk-dag-$mode.txt"; then
    failures+=("nodelay=$mode: the header pool ran out; raise POOL_FACTOR or POOL")
  fi
  echo "-- crypto floor: GET http://127.0.0.1:$crypto_port$path (the RSA of each header, nothing else)"
  headers pool --uri "$path" --count "$pool" --ttl $((DURATION + 60)) --out "$tmp/pool-crypto-$mode" --threads "$(nproc)" 2> /dev/null
  SERVER_PID=${pids[2]} wrk_run "crypto-$mode" "http://127.0.0.1:$crypto_port$path" -s bench/shim/dag.lua -- "$tmp/pool-crypto-$mode" "$path" "$THREADS"
  record "$mode" "crypto floor (bare + RSA of each header)" "crypto-$mode"
  stop_pids
done

# ------------------------------------------------------------------------------------------------ table

echo
echo "wrk -t $THREADS -c $CONNECTIONS -d ${DURATION}s on $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-42s %10s %10s %9s %8s %7s %8s %11s\n' nodelay target requests/s p99_ms 2xx non-2xx errors vs_floor cpu_us/req
for r in "${rows[@]}"; do
  IFS='|' read -r mode target rps p99 ok bad errors cpu <<< "$r"
  floor=0
  for f in "${rows[@]}"; do
    IFS='|' read -r m t x _ <<< "$f"
    [ "$m" != "$mode" ] || [[ $t != floor* ]] || floor=$x
  done
  awk -v m="$mode" -v t="$target" -v r="$rps" -v p="$p99" -v o="$ok" -v b="$bad" -v e="$errors" -v f="$floor" -v c="$cpu" \
    'BEGIN { printf "%-8s %-42s %10.1f %10.2f %9d %8d %7d %8s %11d\n", m, t, r, p, o, b, e, (f > 0 ? sprintf("%.3f", r / f) : "-"), c }'
done
for r in "${rows[@]}"; do
  IFS='|' read -r mode target rps _ <<< "$r"
  [[ $target == *auth* ]] || continue
  for f in "${rows[@]}"; do
    IFS='|' read -r m t x _ <<< "$f"
    if [ "$m" = "$mode" ] && [[ $t == floor* ]]; then
      awk -v m="$mode" -v r="$rps" -v f="$x" 'BEGIN { q = f > 0 ? r / f : 0
        printf "goal (auth v2 DAG GET >= 50%% of the floor), nodelay %s: %.1f%% -> %s%s\n", m, 100 * q, (q >= 0.5 ? "met" : "NOT met"),
          (m == "off" ? " (both servers are held by the ~40 ms delayed-ACK wait with nodelay off)" : "") }'
    fi
    if [ "$m" = "$mode" ] && [[ $t == crypto* ]]; then
      awk -v m="$mode" -v r="$rps" -v f="$x" 'BEGIN { q = f > 0 ? r / f : 0
        printf "auth v2 DAG GET vs the crypto floor (the RSA every obshell-compatible server must do), nodelay %s: %.1f%%\n", m, 100 * q }'
      IFS='|' read -r _ _ _ _ _ _ _ dag_cpu <<< "$r"
      IFS='|' read -r _ _ _ _ _ _ _ crypto_cpu <<< "$f"
      echo "server CPU per auth v2 DAG GET, nodelay $mode: ${dag_cpu} us, of which the crypto floor's ${crypto_cpu} us;" \
        "obplay's own: $((dag_cpu - crypto_cpu)) us"
    fi
  done
done

if [ ${#failures[@]} -gt 0 ]; then
  echo
  printf 'shim.sh: FAILED: %s\n' "${failures[@]}" >&2
  [ "$SMOKE" = 0 ] || exit 1
  exit 2
fi
[ "$SMOKE" = 0 ] || echo "shim.sh: smoke OK: every run got only 2xx answers"
