import { BAN_LUA } from "./ban.js";
import { BASE_LUA, COMMON_LUA } from "./common.js";
import { LATE_ERROR } from "./deadline.js";
import { FIXED_WINDOW_LUA } from "./fixed-window.js";
import { LEAKY_BUCKET_WITH_QUEUE_LUA } from "./leaky-bucket-with-queue.js";
import { SCHEDULE_LUA } from "./schedule.js";
import { SLIDING_WINDOW_COUNTER_LUA } from "./sliding-window-counter.js";
import { SLIDING_WINDOW_LOG_LUA } from "./sliding-window-log.js";

/** The mirror of each strategy code (`mirrors.ts` names them): its Lua function and source. */
const MIRRORS: Readonly<Record<string, readonly [name: string, lua: string]>> = {
  fw: ["fixed_window", FIXED_WINDOW_LUA],
  swl: ["sliding_window_log", SLIDING_WINDOW_LOG_LUA],
  swc: ["sliding_window_counter", SLIDING_WINDOW_COUNTER_LUA],
  tb: ["token_bucket", SCHEDULE_LUA],
  tbd: ["token_bucket_with_debt", SCHEDULE_LUA],
  lb: ["leaky_bucket", SCHEDULE_LUA],
  lbq: ["leaky_bucket_with_queue", LEAKY_BUCKET_WITH_QUEUE_LUA],
  gcra: ["gcra", SCHEDULE_LUA],
  ban: ["ban", BAN_LUA],
};

/** The code shared by the decision script and the decision library: `decide(keys, args)`. */
export function decideLua(codes: readonly string[]): string {
  const used = [...new Set(codes)].filter((code) => code in MIRRORS);
  const sources = [...new Set(used.map((code) => (MIRRORS[code] as readonly [string, string])[1]))];
  const table = used
    .map((code) => `${code} = ${(MIRRORS[code] as readonly [string, string])[0]}`)
    .join(", ");
  // Every function is defined at the top, outside `decide`: a library defines them once, at
  // its load, and no call makes closures.
  return `${BASE_LUA}
${COMMON_LUA}
${sources.join("\n")}
local MIRRORS = { ${table} }

-- Requests' arguments as read, with their mirror: an app sends a handful of distinct ones (a
-- strategy, a rate, a cost), each read once. In a library this table lives from one call to
-- the next (a script starts afresh at each call), which spares a lone call the 1.3 us of
-- reading its argument (INFO commandstats, Redis 7.0). Emptied at 256 arguments: bounded.
local READ, READ_COUNT = {}, 0

local function read_cached(args, i)
  local arg = args[2 + i]
  local r = READ[arg]
  if r == nil then
    if READ_COUNT >= 256 then READ, READ_COUNT = {}, 0 end
    local code, cost, limit, window, first_option, second_option = read_request(args, i)
    r = { MIRRORS[code], cost, limit, window, first_option, second_option }
    READ[arg] = r
    READ_COUNT = READ_COUNT + 1
  end
  return r[1], r[2], r[3], r[4], r[5], r[6]
end

-- A number of the reply: an integer reply for a whole one below 2^53, as most are, else text.
local function reply_number(v)
  if v > -9007199254740992 and v < 9007199254740992 and v == floor(v) then return v end
  return fmt(v)
end

-- Decides request i on state s into out (six values a request): whether it was admitted, and
-- the state it leaves. in_group: it belongs to a group of several.
local function decide_request(keys, args, i, s, now, in_group, out)
  local mirror, cost, limit, window, first_option, second_option = read_cached(args, i)
  local allowed, state, remaining, retry, reset, delay =
    mirror(s, now, cost, limit, window, first_option, second_option)
  local o = (i - 1) * 6
  out[o + 1] = allowed and 1 or 0
  out[o + 2] = reply_number(remaining)
  out[o + 3] = reply_number(retry)
  out[o + 4] = reply_number(reset)
  out[o + 5] = reply_number(delay)
  -- The state a request left, for giving its place back should it be abandoned: only one
  -- that waits, or is part of a group that may wait, can be.
  if allowed and state ~= nil and (delay > 0 or in_group) then
    out[o + 6] = encode(state)
  else
    out[o + 6] = 0
  end
  return allowed, state
end

local function store(key, s, now)
  -- The TTL is set again even where the state's expiry did not move (SET KEEPTTL saves
  -- 0.5 us a request): a key that lost its TTL to a hand on it gets it back.
  call("SET", key, encode(s), "PX", keep_for(s[1], now))
end

-- Decides requests first..last, one all-or-nothing group, into out.
local function decide_group(keys, args, first, last, now, consume, out)
  if first == last then
    -- A group of one, as most are: nothing to stage (0.3 us a request less).
    local key = keys[first]
    local allowed, state = decide_request(keys, args, first, decode(call("GET", key)), now, false, out)
    if consume and allowed and state ~= nil then store(key, state, now) end
    return
  end
  local staged = {}
  local all = true
  for i = first, last do
    local key = keys[i]
    local s = staged[key]
    if s == nil then s = decode(call("GET", key)) end
    local allowed, state = decide_request(keys, args, i, s, now, true, out)
    if allowed then staged[key] = state else all = false end
  end
  if consume and all then
    for key, s in pairs(staged) do store(key, s, now) end
  end
end

local function decide(keys, args)
  bind_globals()
  local mode = args[1]
  local deadline = tonumber(sub(mode, 3))
  local server = nil
  if deadline ~= nil then
    server = server_ms()
    if server > deadline then return redis.error_reply(${JSON.stringify(LATE_ERROR)}) end
  end
  local now = deciding_now(args[2], server)
  local consume = byte(mode) == 99 -- "c"
  -- A lone request's reply made at its size: filled from empty, the table grows four times
  -- (0.3 us of redis-server CPU a call: best of 5 rounds of 20 000 pipelined lone calls).
  local out
  if #keys == 1 then out = { 0, 0, 0, 0, 0, 0 } else out = {} end
  -- A request whose argument begins with "1" begins a group; groups are independent and
  -- decided in order, each seeing what the ones before it stored.
  local first = 1
  for i = 1, #keys do
    if i == #keys or byte(args[3 + i]) == 49 then
      decide_group(keys, args, first, i, now, consume, out)
      first = i + 1
    end
  end
  return out
end
`;
}

/**
 * The decision script for requests using the strategies `codes`: only their mirrors are in it,
 * since a script defines all its functions again at every call.
 *
 * Decides several requests (one per KEY) in one atomic call: requests of one group are decided
 * all or nothing, and groups one after the other, so one call can carry a whole batch of
 * concurrent decisions.
 *
 * ARGV[1] "c" (consume), "c:<deadline>" (consume unless the server's clock is past the deadline,
 * in ms) or "p" (peek); ARGV[2] the time in ms, or "" for the server's TIME;
 * then one argument per request, "begins,code,cost,limit,window,option,option", where begins is
 * "1" for the first request of a group, else "0", and an empty option takes the default: one
 * argument rather than seven spares the client most of its encoding.
 * Returns six values per request: allowed (1 or 0), remaining, retry after, reset after, delay,
 * each an integer, or text for a number that is not a whole one below 2^53 ("inf" for a retry
 * after that means never), then the state's numbers as text for an admitted request that waits
 * or belongs to a group of several, else 0. Integers spare the script formatting them and the
 * client parsing them.
 *
 * Every strategy reads its state, decides, and, when its whole group is admitted, writes the
 * state back; the key expires after the state does (see `keep_for`). A call reads the server's
 * TIME at most once, for its deadline and its clock alike.
 */
export function decideScript(codes: readonly string[]): string {
  return `${decideLua(codes)}
return decide(KEYS, ARGV)
`;
}

/** Every strategy code with a mirror: a library, defined once at its load, holds them all. */
export const ALL_CODES: readonly string[] = Object.keys(MIRRORS);
