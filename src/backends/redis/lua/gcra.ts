/** Lua mirror of `GCRAStrategy.apply`. */
export const GCRA_LUA = `
local function gcra(s, now, cost, limit, window, burst_option)
  local burst = burst_option or limit
  if cost > burst then return beyond_capacity(s, now) end
  local interval = window / limit
  local tolerance = burst * interval
  local tat = now
  if is_live(s, 1, now) then tat = s[1] end
  local new_tat = tat + cost * interval
  local ahead = new_tat - now
  if ahead > tolerance + EPSILON * interval then
    return rejected(s, whole((tolerance - (tat - now)) / interval), ahead - tolerance, tat - now)
  end
  return true, { new_tat }, whole((tolerance - ahead) / interval), 0, ahead, 0
end
`;
