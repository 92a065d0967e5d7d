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
  if keep then
    -- The first count of a window drops the last window's field and expires with this one.
    if prior == 0 then
      redis.call("HDEL", key, string.format("%.0f", wid - 1))
      redis.call("PEXPIRE", key, keep_for(window_end, now))
    end
  elseif prior == 0 then
    redis.call("HDEL", key, field)
  else
    redis.call("HINCRBY", key, field, -cost)
  end
end
`;

/**
 * One fixed-window request alone, the common case: counts it (taking the count back if it is
 * rejected) and answers only what the client cannot know, the count before it and the
 * server's clock, as "prior,seconds,microseconds" (just "prior" under a test clock). The client
 * computes the step with the TypeScript strategy from those, so this script formats no numbers.
 */
export const FIXED_WINDOW_ALONE_MAIN = `
local t
local now = tonumber(ARGV[2])
if now == nil then
  t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local cost, limit, window = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local wid = math.floor(now / window)
local field = string.format("%.0f", wid)
local prior
if ARGV[1] == "c" and cost > 0 then
  prior = redis.call("HINCRBY", KEYS[1], field, cost) - cost
  settle_fixed_window(prior + cost <= limit, KEYS[1], field, cost, prior, wid, (wid + 1) * window, now)
else
  prior = tonumber(redis.call("HGET", KEYS[1], field)) or 0
end
if t == nil then return { tostring(prior) } end
return { prior .. "," .. t[1] .. "," .. t[2] }
`;
