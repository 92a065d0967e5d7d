import { BASE_LUA, COMMON_LUA } from "./common.js";

/**
 * Gives an abandoned request's place back, if nothing came after it: when KEYS[1] still holds
 * the state ARGV[1] (compared as numbers, whatever their text), it becomes ARGV[3], expiring
 * with it (deleted if already expired), else nothing changes. ARGV[2] is the time in ms, or ""
 * for the server's TIME, as in the decision scripts. Returns 1 when it replaced the state.
 */
export const RESTORE_STATE_LUA = `${BASE_LUA}
${COMMON_LUA}
bind_globals()
local stored = decode(call("GET", KEYS[1]))
local admitted = decode(ARGV[1])
if stored == nil or admitted == nil or #stored ~= #admitted then return 0 end
for i = 1, #admitted do
  if stored[i] ~= admitted[i] then return 0 end
end
local restored = decode(ARGV[3])
local now = deciding_now(ARGV[2])
if restored ~= nil and restored[1] > now then
  call("SET", KEYS[1], encode(restored), "PX", keep_for(restored[1], now))
else
  call("DEL", KEYS[1])
end
return 1
`;
