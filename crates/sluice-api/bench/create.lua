-- wrk script: POST /v1/clusters with a unique name per request.
local counter = 0
local threads_made = 0
local token = os.getenv("SLUICE_TOKEN")

-- setup runs in the main Lua state; thread:set writes a global of the thread's own state.
function setup(thread)
  thread:set("thread_id", threads_made)
  threads_made = threads_made + 1
end

function init(args)
  math.randomseed(os.time() * 100 + thread_id)
  prefix = string.format("b%d-%d-", thread_id, math.random(1, 1000000000))
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"name":"%s%d","kafka_version":"3.7.0","broker_count":3,"storage_gib":100}', prefix, counter)
  return wrk.format("POST", "/v1/clusters",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
