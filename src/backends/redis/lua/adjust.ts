import { BASE_LUA, COMMON_LUA } from "./common.js";

/**
 * The first half of a penalty or reward: KEYS[1]'s value as stored ("" for none) and the
 * deciding clock (ARGV[1], a test clock's time, or "" for the server's TIME), read together.
 */
export const READ_STATE_LUA = `${BASE_LUA}
${COMMON_LUA}
bind_globals()
return { call("GET", KEYS[1]) or "", fmt(deciding_now(ARGV[1])) }
`;

/**
 * The second half: when KEYS[1] still holds exactly ARGV[1] ("" for none), it becomes ARGV[2]
 * kept for ARGV[3] ms (deleted when ARGV[2] is ""), and the call returns 1; else nothing
 * changes and it returns 0. The decision scripts are atomic, so a decision between the halves
 * changes the value and the adjustment starts again.
 */
export const COMPARE_AND_SET_LUA = `
local stored = redis.call("GET", KEYS[1]) or ""
if stored ~= ARGV[1] then return 0 end
if ARGV[2] == "" then redis.call("DEL", KEYS[1])
else redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3]) end
return 1
`;
