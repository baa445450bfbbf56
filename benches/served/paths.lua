-- wrk script: GET the paths listed in the file $PATHS (one per line) in turn, each
-- connection starting at its own place, with the header "Cookie: $COOKIE".
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local cookie = os.getenv("COOKIE")
local i = math.random(#paths)

request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Cookie"] = cookie })
end
