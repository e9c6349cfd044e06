-- GET with a bearer token. wrk.lua_args: token
function init(args)
  if args[1] then wrk.headers["Authorization"] = "Bearer " .. args[1] end
  wrk.headers["ConsistencyLevel"] = "eventual"
end
