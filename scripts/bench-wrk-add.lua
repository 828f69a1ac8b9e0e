-- Single adds for wrk (Debian's `wrk`), a load generator much lighter than `qed workload`, to
-- tell the node's limits from the generator's (docs/BENCHMARKS.md, thirteenth session):
--
--   wrk -t 1 -c 64 -d 7s -s scripts/bench-wrk-add.lua http://127.0.0.1:18800
--
-- against a node started with `-k bench-key` (scripts/lib-bench-node.sh). Every request adds
-- a new event: its base64 is 16 digits (12 bytes) made of the thread, the run's start second and
-- the request's number, so runs a second apart never repeat an event. Answers other than 200 are
-- counted and the first two printed.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = string.format("%02d%06d", tid, os.time() % 1000000)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Api-Key"] = "bench-key"

function request()
  counter = counter + 1
  local body = '{"event":"' .. prefix .. string.format("%08d", counter) .. '"}'
  return wrk.format(nil, "/events", nil, body)
end

function response(status, headers, body)
  if status ~= 200 then
    errors = (errors or 0) + 1
    if errors < 3 then print(status, body) end
  end
end
