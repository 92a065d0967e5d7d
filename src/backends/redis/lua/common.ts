/**
 * Lua shared by the strategy mirrors. Numbers are doubles in Lua as in JavaScript, and every
 * mirror performs the same operations in the same order as its TypeScript original, so the
 * two decide identically (test/backends/redis/parity.test.ts holds them to it).
 */
export const COMMON_LUA = `
local EPSILON = 1e-9
local INF = 1/0

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
