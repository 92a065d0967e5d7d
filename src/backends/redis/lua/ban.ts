/**
 * Lua mirror of `BAN_STRATEGY.apply` (`strategies/ban.ts`): rejected until `{ banned until }`,
 * told to wait the rest; otherwise admitted with no state, so nothing is written.
 */
export const BAN_LUA = `
local function ban(s, now)
  if is_live(s, 1, now) then return rejected(s, 0, s[1] - now, s[1] - now) end
  return true, nil, 0, 0, 0, 0
end
`;
