-- wrk script: POST /api/v1/alerts, each with a new external_id, as the in-process
-- intake benchmark posts them: five rules, 50,000 customers (so some alerts join open
-- cases), amounts, a transaction reference and identifiers.
--   KEY=<api key> RUN=<unique word> wrk -t2 -c32 -d10s --latency -s intake.lua URL
-- RUN keeps the external ids of one run apart from those of the runs before it on
-- the same database.
local key = os.getenv("KEY")
local run = os.getenv("RUN") or tostring(os.time())
local rules = { "LARGE_TRANSFER", "ACCOUNT_TAKEOVER", "NEW_ACCOUNT_BURST", "PROMOTION_ABUSE", "AML_WATCHLIST" }
local threads = 0
local n = 0

setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

init = function(args)
  math.randomseed(os.time() * 1000 + tid)
end

request = function()
  n = n + 1
  local customer = math.random(0, 49999)
  local body = string.format(
    '{"external_id":"w-%s-%d-%d","rule":"%s","customer":{"external_id":"C-%d","name":"Wang Wei",'
      .. '"email":"wei@example.com","phone":"+8613800138000","locale":"zh-CN","timezone":"Asia/Shanghai"},'
      .. '"amount":{"value":"%d.00","currency":"CNY"},"transaction_ref":"TX-%d",'
      .. '"attributes":{"device_id":"d-%d","ip":"203.0.113.7","channel":"app"}}',
    run, tid, n, rules[(n + tid) % #rules + 1], customer, 1000 + (n * 37) % 400000, n, n % 500)
  return wrk.format("POST", "/api/v1/alerts",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
