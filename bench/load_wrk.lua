-- wrk script for `python -m bench --load`: one route per wrk process.
--
--   wrk -t1 -c100 -d20s --timeout 30s -s bench/load_wrk.lua http://127.0.0.1:PORT \
--       -- /api/validate TOKENS_FILE BODIES_FILE [RATE]
--
-- TOKENS_FILE holds one pre-minted bearer token a line (several senders), BODIES_FILE one JSON
-- body a line. Every (token, body) pair is made into a request once, in a shuffled order each
-- thread walks round, so senders and messages mix on every connection. RATE (default 0) paces
-- the requests: 0 is flat out (a connection sends again as soon as its answer comes), N is N
-- a second across the connections, each request waiting for its slot on a monotonic clock
-- (LuaJIT's FFI: wrk's Lua has none), as wrk2's -R does, so that a slow answer does not slow
-- the arrivals; wrk does not count the wait in the latency. done() prints one line,
-- "ROLLCALL_WRK {json}": wrk's own latency histogram (microseconds), its socket errors, and the
-- answers counted per HTTP status.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } rollcall_timespec;
int clock_gettime(int clk_id, rollcall_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("rollcall_timespec")

local function now_ms()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
   return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

local function lines(path)
   local found = {}
   for line in io.lines(path) do
      if #line > 0 then
         found[#found + 1] = line
      end
   end
   return found
end

local prepared = {}
local at = 0
local rate = 0
local slot = nil -- when the next paced request may go (ms, monotonic)
statuses = {}

function init(args)
   local path, tokens, bodies = args[1], lines(args[2]), lines(args[3])
   rate = tonumber(args[4] or "0")
   for b = 1, #bodies do
      for t = 1, #tokens do
         prepared[#prepared + 1] = wrk.format("POST", path, {
            ["Content-Type"] = "application/json",
            ["Authorization"] = "Bearer " .. tokens[t],
         }, bodies[b])
      end
   end
   math.randomseed(1000 + id)
   for i = #prepared, 2, -1 do
      local j = math.random(i)
      prepared[i], prepared[j] = prepared[j], prepared[i]
   end
   at = math.random(#prepared) - 1
end

function request()
   at = at % #prepared + 1
   return prepared[at]
end

function delay()
   if rate <= 0 then
      return 0
   end
   local now = now_ms()
   -- Slots missed while every connection was busy are not all made up at once: at most 1 s.
   slot = math.max(slot or now, now - 1000)
   local wait = slot - now
   slot = slot + 1000 / rate
   return wait > 0 and math.floor(wait) or 0
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counted = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counted[status] = (counted[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(counted) do
      parts[#parts + 1] = string.format('"%d": %d', status, n)
   end
   local e = summary.errors
   io.write(string.format(
      'ROLLCALL_WRK {"requests": %d, "duration_us": %d, "errors": {"connect": %d, ' ..
      '"read": %d, "write": %d, "timeout": %d, "status": %d}, "latency_us": {"p50": %d, ' ..
      '"p90": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}, "statuses": {%s}}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(95),
      latency:percentile(99), latency.max, latency.mean, table.concat(parts, ", ")))
end
