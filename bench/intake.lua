-- intake.lua - wrk script: POST purchase-order events with unique event ids (random
-- UUIDs) for the tenant BENCH_TENANT, with BENCH_TOKEN (a service token).
local token = os.getenv("BENCH_TOKEN")
local tenant = os.getenv("BENCH_TENANT")
local n = 0

local function uuid()
   return string.format("%08x-%04x-4%03x-%04x-%012x", math.random(0, 0xffffffff),
                        math.random(0, 0xffff), math.random(0, 0xfff),
                        0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffffffffff))
end

function init(args)
   math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
   n = n + 1
   local body = string.format('{"event_id":"%s","tenant_id":"%s","po_number":"PO-B-%d",' ..
      '"supplier_name":"Proveedor ABC","supplier_phone":"+34 6%08d","total_amount":1250.00,' ..
      '"currency":"EUR"}', uuid(), tenant, n, math.random(0, 99999999))
   return wrk.format("POST", "/api/v1/notifications/purchase-orders",
                     {["Authorization"] = "Bearer " .. token,
                      ["Content-Type"] = "application/json"}, body)
end

-- wrk itself reports "Non-2xx or 3xx responses"; the driver treats any as a failed run.
