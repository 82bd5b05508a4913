-- settings.lua - wrk script: GET one tenant's notification settings, a random tenant of
-- BENCH_IDS (a file of tenant ids, one per line) per request, with BENCH_TOKEN.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do
   ids[#ids + 1] = line
end
local token = os.getenv("BENCH_TOKEN")

function init(args)
   math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
   local id = ids[math.random(#ids)]
   return wrk.format("GET", "/api/v1/tenants/" .. id .. "/settings/notifications",
                     {["Authorization"] = "Bearer " .. token})
end

-- wrk itself reports "Non-2xx or 3xx responses"; the driver treats any as a failed run.
