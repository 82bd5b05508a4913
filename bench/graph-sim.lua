-- graph-sim.lua - wrk script: template sends (po_notification, 3 parameters) spread over
-- the 10 sandbox phone numbers, each to a distinct recipient.
--
-- usage: wrk -t2 -c64 -d10s -s bench/graph-sim.lua http://127.0.0.1:8090
-- env:   GRAPH_SIM_ACCESS_TOKEN (default the sandbox token), BENCH_PHONES (default 10)
local token = os.getenv("GRAPH_SIM_ACCESS_TOKEN") or "graph-sim-access-token"
local phones = tonumber(os.getenv("BENCH_PHONES") or "10")
local threads = {}
local counter = 0
local thread_no = 0
local next_thread = 0

function setup(thread)
   thread:set("thread_no", next_thread)
   next_thread = next_thread + 1
   table.insert(threads, thread)
end

function init(args)
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Content-Type"] = "application/json"
   statuses = {}
end

request = function()
   counter = counter + 1
   local phone = string.format("%d", 109876543210001 + (counter % phones))
   local to = string.format("+346%d%07d", thread_no, counter % 10000000)
   local body = '{"messaging_product":"whatsapp","recipient_type":"individual","to":"' .. to ..
      '","type":"template","template":{"name":"po_notification","language":{"code":"es"},' ..
      '"components":[{"type":"body","parameters":[{"type":"text","text":"Proveedor ABC"},' ..
      '{"type":"text","text":"PO-2024-' .. counter .. '"},{"type":"text","text":"1.250,00 €"}]}]},' ..
      '"biz_opaque_callback_data":"bench-' .. counter .. '"}'
   return wrk.format("POST", "/v25.0/" .. phone .. "/messages", nil, body)
end

response = function(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      for code, n in pairs(s) do
         total[code] = (total[code] or 0) + n
      end
   end
   for code, n in pairs(total) do
      io.write(string.format("status %d: %d\n", code, n))
   end
end
