-- wrk script: POST /api/request-otp, a distinct valid Swedish mobile number per request.
-- Args: <base> (offset into the number space, so phases never reuse numbers).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  base = tonumber(args[1]) or 0
  counter = 0
end

function request()
  counter = counter + 1
  local n = (base + tid * 500000 + counter) % 10000000
  local body = string.format('{"phoneNumber":"+4670%07d"}', n)
  return wrk.format("POST", "/api/request-otp", { ["Content-Type"] = "application/json" }, body)
end
