/**
 * Lua mirror of `FixedWindowStrategy.apply`: the state `{ window end, count }`, kept like every
 * other strategy's, so a window ends where its state says on any clock and the key's expiry
 * only cleans up.
 */
export const FIXED_WINDOW_LUA = `
local function fixed_window(s, now, cost, limit, window)
  local live = is_live(s, 2, now)
  local count = 0
  if live then count = s[2] end
  if cost > limit then return beyond_capacity(s, now, max(0, limit - count)) end
  local window_end
  if live then window_end = s[1] else window_end = (floor_div(now, window) + 1) * window end
  local reset = window_end - now
  if count + cost > limit then return rejected(s, limit - count, reset, reset) end
  return true, { window_end, count + cost }, limit - count - cost, 0, reset, 0
end
`;
