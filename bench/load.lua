-- wrk script: cycle through pre-generated, distinct, signed requests.
-- Arguments (after --): payload file, number of wrk threads.
-- Thread t takes lines t, t+T, t+2T... so no two threads send the same request.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  requests = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local path, head, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {}
      for name, value in head:gmatch("([^\31:]+): ([^\31]*)") do
        headers[name] = value
      end
      requests[#requests + 1] = wrk.format("POST", path, headers, body)
    end
    i = i + 1
  end
  distinct = #requests
  index = 0
  sent = 0
end

function request()
  index = index % #requests + 1
  sent = sent + 1
  return requests[index]
end

function done(summary, latency, requests)
  local wrapped = 0
  for _, thread in ipairs(threads) do
    local n, distinct = thread:get("sent"), thread:get("distinct")
    if n > distinct then wrapped = wrapped + (n - distinct) end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"non_2xx_3xx":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"repeated_payloads":%d,' ..
    '"latency_ms":{"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,"mean":%.3f}}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout, wrapped,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
