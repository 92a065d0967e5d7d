/** What every decision script needs: its arguments, the clock, key lifetimes. */
export const BASE_LUA = `
local INF = 1/0

-- Request i's packed argument: group, strategy code, cost, limit, window, two options.
local function read_request(i)
  local group, code, cost, limit, window, first, second =
    string.match(ARGV[2 + i], "^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),([^,]*)$")
  return group, code, tonumber(cost), tonumber(limit), tonumber(window), tonumber(first), tonumber(second)
end

local function read_group(i)
  return string.match(ARGV[2 + i], "^[^,]*")
end

-- The server's clock in ms, to the microsecond, read once per call: the deadline and the
-- deciding clock agree, and a call costs one TIME.
local server_time = nil
local function server_ms()
  if server_time == nil then
    local t = redis.call("TIME")
    server_time = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  end
  return server_time
end

-- ARGV[2], the time a test passes, or else the server's clock, in whole ms (the strategies
-- compute in whole numbers).
local function deciding_now()
  local now = tonumber(ARGV[2])
  if now ~= nil then return math.floor(now) end
  return math.floor(server_ms())
end

-- How long to keep a key whose state expires at expires_at. Expiry is decided from the state
-- itself, so a TTL only cleans up: it errs long, by at least a second, never short.
local function keep_for(expires_at, now)
  return math.max(1000, math.ceil(expires_at - now))
end
`;

/**
 * Lua shared by the strategy mirrors that keep a state. Numbers are doubles in Lua as in
 * JavaScript, and the strategies compute in whole numbers below 2^53 only
 * (`strategies/whole-numbers.ts`), so each mirror decides exactly as its TypeScript original
 * (test/backends/redis/parity.test.ts holds them to it). Lua 5.1's % is a - floor(a/b)*b,
 * which rounds; math.fmod is C's, exact like JavaScript's %.
 */
export const COMMON_LUA = `
local function floor_div(a, b)
  local r = math.fmod(a, b)
  local q = (a - r) / b
  if r < 0 then q = q - 1 end
  return q
end

local function ceil_div(a, b)
  return floor_div(a + b - 1, b)
end

local function units_in(amount, window)
  return math.max(0, floor_div(amount, window))
end

local function num(text)
  local v = tonumber(text)
  if v == nil or v ~= v or v == INF or v == -INF then return nil end
  return v
end

local function decode(raw)
  if not raw then return nil end
  local s = {}
  for part in string.gmatch(raw, "[^,]+") do
    local v = num(part)
    if v == nil then return nil end
    s[#s + 1] = v
  end
  return s
end

local function encode(s)
  local parts = {}
  for i = 1, #s do parts[i] = string.format("%.17g", s[i]) end
  return table.concat(parts, ",")
end

local function is_live(s, length, now)
  return s ~= nil and #s == length and s[1] > now
end

-- A step: allowed, next state, remaining, retry after, reset after, delay.
local function rejected(s, remaining, retry, reset)
  return false, s, remaining, retry, reset, 0
end

-- A cost beyond capacity: never admissible; remaining is what a peek reports.
local function beyond_capacity(s, now, remaining)
  local reset = 0
  if s ~= nil and s[1] ~= nil then reset = math.max(0, s[1] - now) end
  return false, s, remaining, INF, reset, 0
end
`;
