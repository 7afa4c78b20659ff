-- wrk: Switchboard's native API, one POST per message.
local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer native-demo-token"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format(
    '{"to":"+55119%08d","text":"bench message %d"}', 60000000 + n % 40000000, n))
end
