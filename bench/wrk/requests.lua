-- wrk script: sends the JSON bodies of $BODIES (one per line) in turn with $METHOD (POST by
-- default; GET sends no body), and prints one JSON summary line at the end for bench/load.sh.
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do
  bodies[#bodies + 1] = line
end
local next_body = 0
local path = os.getenv("TARGET_PATH") or "/v1/classify"
local method = os.getenv("METHOD") or "POST"
local headers = { ["content-type"] = "application/json" }

request = function()
  if method == "GET" then
    return wrk.format("GET", path)
  end
  next_body = next_body % #bodies + 1
  return wrk.format(method, path, headers, bodies[next_body])
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local failed = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "failed": %d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, failed))
end
