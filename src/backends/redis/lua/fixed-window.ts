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

/** One fixed-window request alone: the common case, without the group machinery. */
export const FIXED_WINDOW_ALONE_MAIN = `
local now = deciding_now()
local _, _, cost, limit, window = read_request(1)
local allowed, remaining, retry, reset, counted, field, prior, wid, window_end =
  fixed_window(KEYS[1], now, cost, limit, window, ARGV[1] == "c")
if counted then settle_fixed_window(allowed, KEYS[1], field, cost, prior, wid, window_end, now) end
return { string.format("%d,%.17g,%.17g,%.17g,0", allowed and 1 or 0, remaining, retry, reset) }
`;
