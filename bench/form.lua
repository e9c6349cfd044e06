-- POST a fixed form (the token endpoint). wrk.lua_args: path, body
function init(args)
  wrk.method = "POST"
  wrk.path = args[1]
  wrk.body = args[2]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
