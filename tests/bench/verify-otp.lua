-- wrk script: POST /api/verify-otp for numbers that request-otp created, each verified once with
-- the right code and its verificationId. Args: <pool file of phone,id lines> <code> <thread count>. Thread i takes lines i, i+T, i+2T, ... of the pool;
-- a thread that runs out stops and says so (the orchestrator then reports the run as invalid).
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local pool_file, code, nthreads = args[1], args[2], tonumber(args[3])
  phones = {}
  local i = 0
  for line in io.lines(pool_file) do
    if i % nthreads == tid then table.insert(phones, line) end
    i = i + 1
  end
  index = 0
  the_code = code
  exhausted = 0
end

function request()
  index = index + 1
  local line = phones[index]
  if line == nil then
    exhausted = 1
    wrk.thread:stop()
    line = phones[#phones]
  end
  local phone, id = line:match("([^,]+),([^,]+)")
  local body = string.format('{"verificationId":"%s","phoneNumber":"%s","code":"%s"}', id, phone, the_code)
  return wrk.format("POST", "/api/verify-otp", { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("exhausted") == 1 then
      io.write("POOL EXHAUSTED\n")
    end
  end
end
