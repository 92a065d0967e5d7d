import { COMMON_LUA } from "./common.js";
import { GCRA_LUA } from "./gcra.js";
import { LEAKY_BUCKET_LUA } from "./leaky-bucket.js";
import { SLIDING_WINDOW_COUNTER_LUA } from "./sliding-window-counter.js";
import { SLIDING_WINDOW_LOG_LUA } from "./sliding-window-log.js";
import { TOKEN_BUCKET_LUA } from "./token-bucket.js";

/** The mirror of each strategy code; "fw", the fixed window, is decided inline below. */
const MIRRORS: Readonly<Record<string, readonly [name: string, lua: string]>> = {
  swl: ["sliding_window_log", SLIDING_WINDOW_LOG_LUA],
  swc: ["sliding_window_counter", SLIDING_WINDOW_COUNTER_LUA],
  tb: ["token_bucket", TOKEN_BUCKET_LUA],
  tbd: ["token_bucket_with_debt", TOKEN_BUCKET_LUA],
  lb: ["leaky_bucket", LEAKY_BUCKET_LUA],
  lbq: ["leaky_bucket_with_queue", LEAKY_BUCKET_LUA],
  gcra: ["gcra", GCRA_LUA],
};

/**
 * The decision script for requests using the strategies `codes`: only their mirrors are in it,
 * since a script defines all its functions again at every call.
 *
 * Decides several requests (one per KEY) in one atomic call: requests sharing a group id are
 * decided all or nothing, and groups one after the other, so one call can carry a whole batch
 * of concurrent decisions.
 *
 * ARGV[1] "c" (consume) or "p" (peek); ARGV[2] the time in ms, or "" for the server's TIME;
 * then seven values per request: group id, strategy code, cost, limit, window ms, two
 * parameters ("" for the default). Returns five strings per request: allowed ("1"/"0"),
 * remaining, retry after ("-1" for never), reset after, delay.
 *
 * The fixed window keeps a bare counter per window in a hash field named for the window, so an
 * admitted request costs one HINCRBY; a rejected one undoes its increment, so rejections are not
 * counted. Other strategies read their state, decide, and write it back with its expiry.
 */
export function decideScript(codes: readonly string[]): string {
  const used = [...new Set(codes)].filter((code) => code in MIRRORS);
  const sources = [...new Set(used.map((code) => (MIRRORS[code] as readonly [string, string])[1]))];
  const table = used
    .map((code) => `${code} = ${(MIRRORS[code] as readonly [string, string])[0]}`)
    .join(", ");
  return `${COMMON_LUA}
${sources.join("\n")}
local MIRRORS = { ${table} }
local function fmt(v)
  if v == INF then return "-1" end
  return string.format("%.17g", v)
end

local consume = ARGV[1] == "c"
local now = tonumber(ARGV[2])
if now == nil then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local out = {}

-- How long to keep a key whose state expires at expires_at. Expiry is decided from the state
-- itself, so a TTL only cleans up: it errs long, by at least a second, never short.
local function keep_for(expires_at)
  return math.max(1000, math.ceil(expires_at - now))
end

-- Decides requests first..last, one all-or-nothing group.
local function decide_group(first, last)
  local staged = nil
  -- Fixed-window increments made on trial, six values each: key, field, cost, prior count,
  -- window id, window end.
  local counted = {}
  local all = true
  for i = first, last do
    local key = KEYS[i]
    local at = 2 + (i - 1) * 7
    local code = ARGV[at + 2]
    local cost = tonumber(ARGV[at + 3])
    local limit = tonumber(ARGV[at + 4])
    local window = tonumber(ARGV[at + 5])
    local allowed, state, remaining, retry, reset, delay
    if code == "fw" then
      local wid = math.floor(now / window)
      local window_end = (wid + 1) * window
      if cost > limit then
        allowed, state, remaining, retry, reset, delay = beyond_capacity(nil, now)
      else
        local field = string.format("%.0f", wid)
        local prior
        if consume and cost > 0 then
          prior = redis.call("HINCRBY", key, field, cost) - cost
          local n = #counted
          counted[n + 1], counted[n + 2], counted[n + 3] = key, field, cost
          counted[n + 4], counted[n + 5], counted[n + 6] = prior, wid, window_end
        else
          prior = tonumber(redis.call("HGET", key, field)) or 0
        end
        reset, delay = window_end - now, 0
        if prior + cost > limit then
          allowed, remaining, retry = false, limit - prior, reset
        else
          allowed, remaining, retry = true, limit - prior - cost, 0
        end
      end
    else
      staged = staged or {}
      local s = staged[key]
      if s == nil then s = decode(redis.call("GET", key)) end
      allowed, state, remaining, retry, reset, delay =
        MIRRORS[code](s, now, cost, limit, window, tonumber(ARGV[at + 6]), tonumber(ARGV[at + 7]))
      if allowed then staged[key] = state end
    end
    if not allowed then all = false end
    local base = (i - 1) * 5
    out[base + 1] = allowed and "1" or "0"
    out[base + 2] = fmt(remaining)
    out[base + 3] = fmt(retry)
    out[base + 4] = fmt(reset)
    out[base + 5] = fmt(delay)
  end

  if consume and all then
    for key, s in pairs(staged or {}) do
      redis.call("SET", key, encode(s), "PX", keep_for(s[1]))
    end
    for j = 1, #counted, 6 do
      -- The first count of a window: drop the last window's field, expire with this window.
      if counted[j + 3] == 0 then
        redis.call("HDEL", counted[j], string.format("%.0f", counted[j + 4] - 1))
        redis.call("PEXPIRE", counted[j], keep_for(counted[j + 5]))
      end
    end
  else
    for j = #counted - 5, 1, -6 do
      local key, field, cost, prior = counted[j], counted[j + 1], counted[j + 2], counted[j + 3]
      if prior == 0 then redis.call("HDEL", key, field) else redis.call("HINCRBY", key, field, -cost) end
    end
  end
end

-- Consecutive requests with the same group id form one group; groups are independent and
-- decided in order, each seeing what the ones before it stored.
local first = 1
for i = 1, #KEYS do
  if i == #KEYS or ARGV[2 + i * 7 + 1] ~= ARGV[2 + (i - 1) * 7 + 1] then
    decide_group(first, i)
    first = i + 1
  end
end
return out
`;
}
