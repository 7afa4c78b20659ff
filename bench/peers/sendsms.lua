-- wrk: Kannel's sendsms interface, one GET per message, a new recipient and text each time.
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", string.format(
    "/cgi-bin/sendsms?username=bench&password=bench&from=12345&to=55119%08d&text=bench+message+%d",
    60000000 + n % 40000000, n))
end
