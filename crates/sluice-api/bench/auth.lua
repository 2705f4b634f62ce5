-- wrk script: GET with the bearer token from SLUICE_TOKEN.
local token = os.getenv("SLUICE_TOKEN")
function request()
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end
