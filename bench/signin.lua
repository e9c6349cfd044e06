-- Complete sign-ins with a live session, closed loop: each connection's next request is the
-- token request for a code it holds, else a new authorization request with the session
-- cookie (answered 303 with a code). wrk.lua_args: authorize path, Cookie header, token
-- path, token form without the code.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  authorize_path, cookie, token_path, form = args[1], args[2], args[3], args[4]
  codes, signins, failed = {}, 0, 0
end

function request()
  local code = table.remove(codes)
  if code then
    return wrk.format("POST", token_path,
      { ["Content-Type"] = "application/x-www-form-urlencoded" }, form .. "&code=" .. code)
  end
  return wrk.format("GET", authorize_path, { ["Cookie"] = cookie })
end

function response(status, headers, body)
  if status == 303 then
    local location = headers["location"] or headers["Location"] or ""
    local code = string.match(location, "[?&]code=([^&]+)")
    if code then table.insert(codes, code) else failed = failed + 1 end
  elseif status == 200 and string.find(body, '"id_token"', 1, true) then
    signins = signins + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total_signins, total_failed = 0, 0
  for _, thread in ipairs(threads) do
    total_signins = total_signins + thread:get("signins")
    total_failed = total_failed + thread:get("failed")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"counts":{"signins":%d,"signin_failures":%d}}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    total_signins, total_failed))
end
