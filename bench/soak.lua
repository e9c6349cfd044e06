-- Mixed load for the soak: 1 token, 5 invites, 2 user lists, 2 redeem pages in every 10
-- requests. wrk.lua_args: token, token path, token form body, redeem path.
-- Counts 5xx and other non-2xx per thread; done() prints them with the latency report.
local thread_id = 0
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  token, token_path, token_body, redeem_path = args[1], args[2], args[3], args[4]
  prefix = string.format("s%d-%d-%d", os.time(), tid, math.random(1, 1000000000))
  counter = 0
  server_errors = 0
  other = 0
end

function request()
  counter = counter + 1
  local slot = counter % 10
  if slot == 0 then
    return wrk.format("POST", token_path,
      {["Content-Type"] = "application/x-www-form-urlencoded"}, token_body)
  elseif slot <= 5 then
    local body = string.format('{"invitedUserEmailAddress":"%s-%d@soak.example"}', prefix, counter)
    return wrk.format("POST", "/api/InviteGuest",
      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
  elseif slot <= 7 then
    return wrk.format("GET", "/v1.0/users?$top=100",
      {["Authorization"] = "Bearer " .. token})
  else
    return wrk.format("GET", redeem_path, {})
  end
end

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  elseif status >= 300 then
    other = other + 1
  end
end

function done(summary, latency, requests)
  local s5, o = 0, 0
  for _, thread in ipairs(threads) do
    s5 = s5 + thread:get("server_errors")
    o = o + thread:get("other")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,"status_5xx":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, s5 + o, s5,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
