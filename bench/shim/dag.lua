-- wrk script of the shim benchmark (bench/shim.sh): GET PATH with a distinct auth v2 header on every request.
-- Usage: wrk -t T -c C -d D -s bench/shim/dag.lua http://127.0.0.1:PORT -- POOL_FILE PATH T [HEADER_NAME]
--   POOL_FILE: one header value per line (bench/shim/Headers.java pool); thread i (0-based) of T takes lines
--   i+1, i+1+T, i+1+2T, ...: no header is sent twice, since the shim refuses a replayed one (401, which also
--   counts against the client's failed-login budget).
-- When a thread has used up its slice, it sends GET /bench/pool-exhausted instead (no auth, 404: counted by wrk as
-- non-2xx) and done() says how many; size the pool from the duration (bench/shim.sh does).
-- Requests are formatted once, in init(), so request() only hands out the next string.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, path, nthreads, name = args[1], args[2], tonumber(args[3]), args[4] or "X-OCS-Agent-Header"
  if not file or not path or not nthreads then
    error("dag.lua: arguments are POOL_FILE PATH THREADS [HEADER_NAME]")
  end
  reqs = {}
  local i, n = 0, 0
  for line in io.lines(file) do
    if i % nthreads == id and line ~= "" then
      n = n + 1
      reqs[n] = wrk.format("GET", path, { [name] = line })
    end
    i = i + 1
  end
  count = n
  used = 0
  exhausted = 0
  spare = wrk.format("GET", "/bench/pool-exhausted")
end

function request()
  if used < count then
    used = used + 1
    return reqs[used]
  end
  exhausted = exhausted + 1
  return spare
end

function done(summary, latency, requests)
  local used_all, left, out = 0, 0, 0
  for _, t in ipairs(threads) do
    used_all = used_all + t:get("used")
    left = left + (t:get("count") - t:get("used"))
    out = out + t:get("exhausted")
  end
  io.stderr:write(string.format("dag.lua: %d auth v2 headers sent, %d left unused, %d requests without a header (pool exhausted)\n",
    used_all, left, out))
end
