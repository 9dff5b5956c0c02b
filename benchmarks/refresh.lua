-- wrk script: POST /api/auth/refresh, each request rotating a live refresh token.
-- The token file (one token per line) is split between wrk's threads; every answer's
-- successor goes back into that thread's pool, so no token is ever presented twice.
local tokens = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local per_thread = tonumber(args[2])
  local index = 0
  for line in io.lines(args[1]) do
    if index >= id * per_thread and index < (id + 1) * per_thread then
      table.insert(tokens, line)
    end
    index = index + 1
  end
end

function request()
  local token = table.remove(tokens, 1) or "exhausted"
  local body = '{"refreshToken":"' .. token .. '"}'
  return wrk.format("POST", "/api/auth/refresh", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  local successor = string.match(body, '"refreshToken":%s*"([^"]+)"')
  if successor then
    table.insert(tokens, successor)
  end
end
