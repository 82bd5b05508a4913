-- webhook.lua - wrk script: POST pre-signed status webhooks, each body once. BENCH_BODIES
-- is a file of lines "<signature hex> <json body>"; thread i of n sends lines i, i+n, ...
-- and then idles (wrk.thread:stop() does not end wrk 4.1's run: bench/e2e.sh stops it).
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
   local sig, body = line:match("^(%x+) (.*)$")
   bodies[#bodies + 1] = {sig, body}
end
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

function init(args)
   nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   next_index = id + 1
end

request = function()
   local b = bodies[next_index]
   if not b then
      wrk.thread:stop()
      b = bodies[1]
   end
   next_index = next_index + nthreads
   return wrk.format("POST", "/api/v1/whatsapp/webhook",
                     {["Content-Type"] = "application/json",
                      ["X-Hub-Signature-256"] = "sha256=" .. b[1]}, b[2])
end
