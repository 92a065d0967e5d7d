/**
 * Lua statements settling a fixed-window count made on trial: kept when `keep` holds, else
 * taken back. `key`, `field`, `cost`, `prior`, `wid` and `now` are in scope; `windowEnd` is
 * the window's end. The decision script wraps them in a function; the lone script inlines them.
 */
function settleFixedWindow(keep: string, windowEnd: string): string {
  return `if ${keep} then
  -- The first count of a window drops the last window's field and expires with this one,
  -- kept a second at least, as keep_for does.
  if prior == 0 then
    redis.call("HDEL", key, string.format("%.0f", wid - 1))
    redis.call("PEXPIRE", key, math.max(1000, math.ceil(${windowEnd} - now)))
  end
elseif prior == 0 then
  redis.call("HDEL", key, field)
else
  redis.call("HINCRBY", key, field, -cost)
end`;
}

/**
 * Lua mirror of `FixedWindowStrategy.apply`. The count of each window lives in a hash field
 * named for the window (its number since the epoch), so an admitted request costs a single
 * HINCRBY. A request is counted on trial and the count settled afterwards: kept, or taken back
 * when the request (or its group) is rejected, so rejections are never counted.
 */
export const FIXED_WINDOW_LUA = `
local function fixed_window(key, now, cost, limit, window, counting)
  local wid = math.floor(now / window)
  local window_end = (wid + 1) * window
  local reset = window_end - now
  if cost > limit then return false, 0, INF, 0 end
  local field = string.format("%.0f", wid)
  local prior
  if counting and cost > 0 then
    prior = redis.call("HINCRBY", key, field, cost) - cost
  else
    prior = tonumber(redis.call("HGET", key, field)) or 0
    counting = false
  end
  if prior + cost > limit then
    return false, limit - prior, reset, reset, counting, field, prior, wid, window_end
  end
  return true, limit - prior - cost, 0, reset, counting, field, prior, wid, window_end
end

local function settle_fixed_window(keep, key, field, cost, prior, wid, window_end, now)
${settleFixedWindow("keep", "window_end")}
end
`;

/**
 * What both lone fixed-window scripts begin with. ARGV: cost, limit, window, and a test clock
 * only in tests (ARGV[4]): by default the server's TIME. Yields the window's field.
 */
const ALONE_PROLOGUE = `
local t, now
if ARGV[4] == nil then
  t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[4])
end
local key, window = KEYS[1], tonumber(ARGV[3])
local wid = math.floor(now / window)
local field = string.format("%.0f", wid)
`;

/**
 * What both lone fixed-window scripts answer: only what the client cannot know, the count
 * before the request and the server's clock, as "prior,seconds,microseconds" (just "prior"
 * under a test clock). The client computes the step with the TypeScript strategy from those,
 * so these scripts format no numbers but the count.
 */
const ALONE_REPLY = `
if t == nil then return tostring(prior) end
return prior .. "," .. t[1] .. "," .. t[2]
`;

/**
 * One fixed-window request alone, the common case, in a script of its own: it defines no
 * helper functions (a script defines them again at every call), takes no more arguments than
 * it needs, and inlines what `fixed_window` and `settle_fixed_window` do for one request.
 * It counts the request, and takes the count back if it is rejected. The cost is above 0.
 */
export const FIXED_WINDOW_CONSUME_LUA = `${ALONE_PROLOGUE}
local cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
-- ARGV[1] as sent: a number would be formatted back into a string.
local prior = redis.call("HINCRBY", key, field, ARGV[1]) - cost
${settleFixedWindow("prior + cost <= limit", "(wid + 1) * window")}
${ALONE_REPLY}`;

/** One fixed-window request alone, peeked at (or free): reads the window's count. */
export const FIXED_WINDOW_PEEK_LUA = `${ALONE_PROLOGUE}
local prior = tonumber(redis.call("HGET", key, field)) or 0
${ALONE_REPLY}`;
