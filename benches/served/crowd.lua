-- wrk script: many agents signed in at once. GET the paths listed in $PATHS and
-- send the session cookies listed in $COOKIES (one per line, "riskdesk_session=…"),
-- both in turn, so that every session refreshes every path; each thread starts at
-- its own place.
local function lines(file)
  local t = {}
  for line in io.lines(file) do
    if line ~= "" then t[#t + 1] = line end
  end
  return t
end
local paths = lines(os.getenv("PATHS"))
local cookies = lines(os.getenv("COOKIES"))
local i = math.random(#paths)
local j = math.random(#cookies)

request = function()
  i = i % #paths + 1
  j = j % #cookies + 1
  return wrk.format("GET", paths[i], { ["Cookie"] = cookies[j] })
end
