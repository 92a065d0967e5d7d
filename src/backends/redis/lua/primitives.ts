/** Releases a lock only for its holder: compare the token, then delete, atomically. */
export const RELEASE_LOCK_LUA = `
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
`;

/** INCRBY that gives a key it creates a TTL (ARGV[2] ms); an existing key keeps its own. */
export const INCREMENT_WITH_TTL_LUA = `
local existed = redis.call("EXISTS", KEYS[1])
local value = redis.call("INCRBY", KEYS[1], ARGV[1])
if existed == 0 then redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return value
`;
