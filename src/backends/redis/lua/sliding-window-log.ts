/** Lua mirror of `SlidingWindowLogStrategy.apply`; entries start at index 3 (1-based). */
export const SLIDING_WINDOW_LOG_LUA = `
local function sliding_window_log(s, now, cost, limit, window)
  local live = s ~= nil and #s >= 2 and #s % 2 == 0 and s[1] > now
  local length = 2
  local used = 0
  if live then
    length = #s
    used = s[2]
  end
  local first = 3
  while first <= length and s[first] + window <= now do
    used = used - s[first + 1]
    first = first + 2
  end
  local newest = now - window
  if first <= length then newest = s[length - 1] end
  if cost > limit then return beyond_capacity(s, now, max(0, limit - used)) end
  if used + cost > limit then
    local must_free = used + cost - limit
    local freed = 0
    local retry = 0
    for i = first, length, 2 do
      freed = freed + s[i + 1]
      if freed >= must_free then
        retry = s[i] + window - now
        break
      end
    end
    return rejected(s, limit - used, retry, newest + window - now)
  end
  local next_state = { 0, 0 }
  if live then
    for i = first, length do next_state[#next_state + 1] = s[i] end
  end
  if cost > 0 then
    if first <= length and newest >= now then
      next_state[#next_state] = next_state[#next_state] + cost
    else
      next_state[#next_state + 1] = now
      next_state[#next_state + 1] = cost
    end
  end
  used = used + cost
  local expires_at = now
  if #next_state > 2 then expires_at = next_state[#next_state - 1] + window end
  next_state[1] = expires_at
  next_state[2] = used
  return true, next_state, limit - used, 0, expires_at - now, 0
end
`;
