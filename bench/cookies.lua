-- wrk: spread the requests over many signed-in sessions, one cookie line per session in the
-- file BENCH_COOKIES names ("name=value"), taken in turn; BENCH_HOST sets the Host header.
local cookies = {}
for line in io.lines(os.getenv("BENCH_COOKIES")) do
  cookies[#cookies + 1] = line
end
local headers = {}
if os.getenv("BENCH_HOST") then
  headers["Host"] = os.getenv("BENCH_HOST")
end
local turn = math.random(#cookies)

request = function()
  turn = turn % #cookies + 1
  headers["Cookie"] = cookies[turn]
  return wrk.format("GET", wrk.path, headers)
end
