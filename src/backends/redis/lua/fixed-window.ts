import { declineAfter, MODE_DEADLINE } from "./deadline.js";

/*
 * The fixed window in Redis: a bare counter per client that expires as its window ends
 * (PEXPIREAT at the window's last millisecond: Redis drops a key once its clock is past the
 * key's time, and a script sees the clock as it was when the script began). A request in a
 * live window needs no clock: it counts with INCRBY and reads the window's end back with PTTL.
 * The lone and batch scripts read the clock (TIME) only to make a window's counter.
 *
 * A test clock runs apart from Redis's, which would expire the counters by its own. Under one
 * (`testing`), a counter's expiry is kept TEST_SHIFT ms later, beyond any real clock, and
 * applied by hand; PEXPIRETIME (Redis 7) reads it back.
 */
const TEST_SHIFT = 2 ** 50;

/**
 * Lua statements, in a scope with `key`, `window`, `now` (nil until the clock is read) and
 * `testing`: under a test clock, drops the counter at `key` if its window has ended.
 */
const EXPIRE_BY_HAND = `if testing then
  local at = redis.call("PEXPIRETIME", key)
  if at >= 0 and now >= at - ${TEST_SHIFT} + 1 then redis.call("DEL", key) end
end`;

/**
 * Lua statements setting `reset`, the ms until the window ends, for the counter at `key`
 * holding `prior` units before this request. A live counter's window ends with its expiry. A
 * new window ends at the next multiple of `window` after `now` (the server's clock when `now`
 * is nil, in whole ms as Redis expires keys), and a counter that exists (made by this request
 * when `created` holds) takes that end as its expiry. So does one whose expiry is gone or
 * beyond a window, which only a stepped clock or a hand on the key can cause.
 */
function settleReset(created: string): string {
  return `local reset
if prior > 0 then
  if testing then reset = redis.call("PEXPIRETIME", key) - ${TEST_SHIFT} + 1 - now
  else reset = redis.call("PTTL", key) + 1 end
end
if reset == nil or reset <= 0 or reset > window then
  if now == nil then
    local t = redis.call("TIME")
    now = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  local window_end = (math.floor(now / window) + 1) * window
  if prior > 0 or ${created} then
    redis.call("PEXPIREAT", key, window_end - 1 + (testing and ${TEST_SHIFT} or 0))
  end
  reset = window_end - now
end`;
}

/**
 * Lua mirror of `FixedWindowStrategy.apply`, for the decision script: a request is counted on
 * trial, and `take_back_fixed_window` takes the count back when the request (or its group) is
 * rejected, so rejections are never counted. Returns the step, then
 * whether it counted and the count before it.
 */
export const FIXED_WINDOW_LUA = `
local function fixed_window(key, now, cost, limit, window, counting)
  ${EXPIRE_BY_HAND}
  local prior
  counting = counting and cost > 0 and cost <= limit
  if counting then
    prior = redis.call("INCRBY", key, cost) - cost
  else
    prior = tonumber(redis.call("GET", key)) or 0
  end
  ${settleReset("counting")}
  if cost > limit then
    if prior == 0 then reset = 0 end
    return false, math.max(0, limit - prior), INF, reset, false, prior
  end
  if prior + cost > limit then return false, limit - prior, reset, reset, counting, prior end
  return true, limit - prior - cost, 0, reset, counting, prior
end

local function take_back_fixed_window(key, cost, prior)
  if prior == 0 then redis.call("DEL", key) else redis.call("DECRBY", key, cost) end
end
`;

/**
 * Lua statements setting `answer`, a fixed-window script's reply for one request: the count
 * before the request and `reset`, from which the client computes the step with the TypeScript
 * strategy. Both are whole numbers on the server's clock, so one integer carries them,
 * `prior * (window + 1) + reset` (reset is at most `window`), the cheapest reply for Redis to
 * make and for the client to read. A pair too large for that is text instead: "prior,reset".
 */
const ANSWER = `local answer = prior * (window + 1) + reset
if answer >= 9007199254740992 then
  answer = string.format("%.0f,%.17g", prior, reset)
end`;

/**
 * What both lone fixed-window scripts begin with. ARGV: cost, limit, window, and a test clock
 * only in tests (ARGV[4]); by default the clock is the server's, read only if needed.
 */
const ALONE_PROLOGUE = `
local key, window = KEYS[1], tonumber(ARGV[3])
local now = tonumber(ARGV[4] or "")
if now ~= nil then now = math.floor(now) end
local testing = now ~= nil
${EXPIRE_BY_HAND}
`;

/**
 * One fixed-window request alone, the common case, in a script of its own: it defines no
 * helper functions (a script defines them again at every call) and takes no more arguments
 * than it needs. It counts the request, and takes the count back if it is rejected. The client
 * sends a cost from 1 to the limit, so a rejected request never made the counter. ARGV[5], if
 * given, is the call's deadline on the server's clock (ARGV[4] is then "" without a test clock).
 */
export const FIXED_WINDOW_CONSUME_LUA = `${ALONE_PROLOGUE}
${declineAfter("tonumber(ARGV[5])")}
-- ARGV[1] as sent: a number would be formatted back into a string.
local count = redis.call("INCRBY", key, ARGV[1])
local prior = count - tonumber(ARGV[1])
${settleReset("true")}
if count > tonumber(ARGV[2]) then redis.call("DECRBY", key, ARGV[1]) end
${ANSWER}
return answer`;

/** One fixed-window request alone, peeked at (or free, or beyond the limit): reads the count. */
export const FIXED_WINDOW_PEEK_LUA = `${ALONE_PROLOGUE}
local prior = tonumber(redis.call("GET", key)) or 0
${settleReset("false")}
${ANSWER}
return answer`;

/**
 * Fixed-window requests made at once by different callers, one per KEY, each decided as alone
 * and in order (two requests of one client see each other): what a busy server sends most.
 * ARGV[1] "c" (consume), "c:<deadline>" or "p" (peek), as for the decision script; ARGV[2] a
 * test clock, or ""; then three arguments per
 * request: cost, limit, window. Answers one reply per request, as the lone scripts do.
 */
export const FIXED_WINDOWS_LUA = `
local consume = string.sub(ARGV[1], 1, 1) == "c"
${declineAfter(MODE_DEADLINE)}
local now = ARGV[2] ~= "" and math.floor(tonumber(ARGV[2])) or nil
local testing = now ~= nil
local out = {}
for i = 1, #KEYS do
  local key, base = KEYS[i], 3 * i
  local cost, limit, window = tonumber(ARGV[base]), tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  ${EXPIRE_BY_HAND}
  local counting, count, prior = consume and cost > 0 and cost <= limit
  if counting then
    count = redis.call("INCRBY", key, ARGV[base])
    prior = count - cost
  else
    prior = tonumber(redis.call("GET", key)) or 0
  end
  ${settleReset("counting")}
  if counting and count > limit then redis.call("DECRBY", key, ARGV[base]) end
  ${ANSWER}
  out[i] = answer
end
return out`;
