/** What every decision script needs: the clock, number formatting, key lifetimes. */
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

-- ARGV[2], the time a test passes, or else the server's clock, in ms.
local testing = ARGV[2] ~= ""
local function deciding_now()
  local now = tonumber(ARGV[2])
  if now ~= nil then return now end
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

-- How long to keep a key whose state expires at expires_at. Expiry is decided from the state
-- itself, so a TTL only cleans up: it errs long, by at least a second, never short.
local function keep_for(expires_at, now)
  return math.max(1000, math.ceil(expires_at - now))
end
`;

/**
 * Lua shared by the strategy mirrors that keep a state. Numbers are doubles in Lua as in JavaScript, and every
 * mirror performs the same operations in the same order as its TypeScript original, so the
 * two decide identically (test/backends/redis/parity.test.ts holds them to it).
 */
export const COMMON_LUA = `
local EPSILON = 1e-9

local function whole(v)
  return math.max(0, math.floor(v + EPSILON))
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

local function beyond_capacity(s, now)
  local reset = 0
  if s ~= nil and s[1] ~= nil then reset = math.max(0, s[1] - now) end
  return false, s, 0, INF, reset, 0
end
`;
