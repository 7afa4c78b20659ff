-- wrk: Switchboard's Wavy dialect by GET, the request closest to Kannel's sendsms.
local n = 0
wrk.headers["username"] = "acme"
wrk.headers["authenticationtoken"] = "wavy-demo-token"
request = function()
  n = n + 1
  return wrk.format("GET", string.format(
    "/v1/send-sms?destination=55119%08d&messageText=bench+message+%d", 60000000 + n % 40000000, n))
end
