-- POST /api/InviteGuest with a unique address per request and a bearer token.
-- wrk.lua_args: token, send ("true"/"false")
local counter = 0
local thread_id = 0
local token, send = nil, "false"
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  send = args[2] or "false"
  prefix = string.format("b%d-%d-%d", os.time(), tid, math.random(1, 1000000000))
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"invitedUserEmailAddress":"%s-%d@bench.example","inviteRedirectUrl":"https://google.at","sendInvitationMessage":%s}',
    prefix, counter, send)
  return wrk.format(nil, "/api/InviteGuest", nil, body)
end
