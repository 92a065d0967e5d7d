/** What every decision script needs: its arguments, the clock, key lifetimes. */
export const BASE_LUA = `
local INF = 1/0

-- The globals used on every call, as locals: a global is looked up through the sandbox at
-- every use, a local is not. Measured in Redis 7.0 (1 000 calls in one script): tonumber 0.23
-- against 0.16 us a call, math.floor 0.072 against 0.056. A library's code runs at its load
-- without these globals, so they are bound at the first call (bind_globals, which is defined
-- before the locals and so reads the globals).
local function globals()
  return tonumber, math.floor, math.ceil, math.max, math.fmod,
    string.find, string.sub, string.byte, string.format, redis.call, table.concat
end
local tonumber, floor, ceil, max, fmod, find, sub, byte, format, call, concat
local function bind_globals()
  if call == nil then
    tonumber, floor, ceil, max, fmod, find, sub, byte, format, call, concat = globals()
  end
end

-- Request i's packed argument: whether it begins a group, strategy code, cost, limit, window,
-- two options. Read with plain finds, a third the cost of one pattern with seven captures.
local function read_request(args, i)
  local arg = args[2 + i]
  local b = find(arg, ",", 3, true)
  local c = find(arg, ",", b + 1, true)
  local d = find(arg, ",", c + 1, true)
  local e = find(arg, ",", d + 1, true)
  local f = find(arg, ",", e + 1, true)
  return sub(arg, 3, b - 1),
    tonumber(sub(arg, b + 1, c - 1)), tonumber(sub(arg, c + 1, d - 1)),
    tonumber(sub(arg, d + 1, e - 1)), tonumber(sub(arg, e + 1, f - 1)),
    tonumber(sub(arg, f + 1))
end

-- The server's clock in ms, to the microsecond. A call reads it once at most: its deadline
-- and its deciding clock agree, and TIME costs a microsecond.
local function server_ms()
  local t = call("TIME")
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end

-- The deciding clock in whole ms (the strategies compute in whole numbers): the time a test
-- passes (clock, a string), or else the server's (server, read already, or nil).
local function deciding_now(clock, server)
  local now = tonumber(clock)
  if now ~= nil then return floor(now) end
  return floor(server or server_ms())
end

-- How long to keep a key whose state expires at expires_at. Expiry is decided from the state
-- itself, so a TTL only cleans up: it errs long, by at least a second, never short.
local function keep_for(expires_at, now)
  return max(1000, ceil(expires_at - now))
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
  local r = fmod(a, b)
  local q = (a - r) / b
  if r < 0 then q = q - 1 end
  return q
end

local function ceil_div(a, b)
  return floor_div(a + b - 1, b)
end

local function units_in(amount, window)
  return max(0, floor_div(amount, window))
end

-- A number as the client writes it back: digits for a whole number below 2^53 (exact, and a
-- fraction of the cost of %.17g, which every other number takes), "inf" for infinity.
local function fmt(v)
  if v > -9007199254740992 and v < 9007199254740992 and v == floor(v) then
    return format("%d", v)
  end
  if v == INF then return "inf" end
  return format("%.17g", v)
end

-- A stored state's numbers, or nil for a missing or malformed one.
local function decode(raw)
  if not raw then return nil end
  local comma = find(raw, ",", 1, true)
  if comma ~= nil and find(raw, ",", comma + 1, true) == nil then
    -- Most states hold two numbers: read into a table made at its size, 0.2 us less.
    local a, b = tonumber(sub(raw, 1, comma - 1)), tonumber(sub(raw, comma + 1))
    if a == nil or b == nil or a ~= a or b ~= b or a == INF or a == -INF or b == INF or b == -INF then
      return nil
    end
    return { a, b }
  end
  local s, n, at = {}, 0, 1
  while true do
    local comma = find(raw, ",", at, true)
    local v = tonumber(sub(raw, at, comma and comma - 1))
    if v == nil or v ~= v or v == INF or v == -INF then return nil end
    n = n + 1
    s[n] = v
    if comma == nil then return s end
    at = comma + 1
  end
end

local function encode(s)
  -- Most states hold two numbers: joined without a table, 0.4 us less.
  if #s == 2 then return fmt(s[1]) .. "," .. fmt(s[2]) end
  local parts = {}
  for i = 1, #s do parts[i] = fmt(s[i]) end
  return concat(parts, ",")
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
  if s ~= nil and s[1] ~= nil then reset = max(0, s[1] - now) end
  return false, s, remaining, INF, reset, 0
end
`;
