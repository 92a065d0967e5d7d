/** Lua mirror of `SlidingWindowCounterStrategy.apply`. */
export const SLIDING_WINDOW_COUNTER_LUA = `
local function sliding_window_counter(s, now, cost, limit, window)
  local start, previous, current = now, 0, 0
  if is_live(s, 4, now) then
    start, previous, current = s[2], s[3], s[4]
    if now - start >= window then
      start = start + window
      previous = current
      current = 0
    end
  end
  local elapsed = max(0, now - start)
  local estimate = previous * (window - elapsed) + current * window
  if cost > limit then return beyond_capacity(s, now, units_in(limit * window - estimate, window)) end
  if estimate > (limit - cost) * window then
    local retry
    if current + cost <= limit then
      retry = window - floor_div((limit - current - cost) * window, previous) - elapsed
    else
      retry = 2 * window - elapsed - floor_div((limit - cost) * window, current)
    end
    local reset_at = start + window
    if current > 0 then reset_at = start + 2 * window end
    return rejected(s, units_in(limit * window - estimate, window), retry, reset_at - now)
  end
  current = current + cost
  local reset_at = now
  if current > 0 then reset_at = start + 2 * window elseif previous > 0 then reset_at = start + window end
  return true, { start + 2 * window, start, previous, current }, floor_div((limit - cost) * window - estimate, window), 0, reset_at - now, 0
end
`;
