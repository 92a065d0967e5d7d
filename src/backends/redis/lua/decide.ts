import { COMMON_LUA } from "./common.js";
import { GCRA_LUA } from "./gcra.js";
import { LEAKY_BUCKET_LUA } from "./leaky-bucket.js";
import { SLIDING_WINDOW_COUNTER_LUA } from "./sliding-window-counter.js";
import { SLIDING_WINDOW_LOG_LUA } from "./sliding-window-log.js";
import { TOKEN_BUCKET_LUA } from "./token-bucket.js";

/**
 * Decides one or several requests (one per KEY) in one atomic call, all or nothing.
 *
 * ARGV[1] "c" (consume) or "p" (peek); ARGV[2] the time in ms, or "" for the server's TIME;
 * then six values per request: strategy code, cost, limit, window ms, two parameters ("" for
 * the default). Returns five strings per request: allowed ("1"/"0"), remaining, retry after
 * ("-1" for never), reset after, delay.
 *
 * The fixed window keeps a bare counter per window in a hash field named for the window, so an
 * admitted request costs one HINCRBY; a rejected one undoes its increment, so rejections are not
 * counted. Other strategies read their state, decide, and write it back with its expiry.
 */
export const DECIDE_LUA = `${COMMON_LUA}
${SLIDING_WINDOW_LOG_LUA}
${SLIDING_WINDOW_COUNTER_LUA}
${TOKEN_BUCKET_LUA}
${LEAKY_BUCKET_LUA}
${GCRA_LUA}
local MIRRORS = {
  swl = sliding_window_log, swc = sliding_window_counter, tb = token_bucket,
  tbd = token_bucket_with_debt, lb = leaky_bucket, lbq = leaky_bucket_with_queue, gcra = gcra,
}

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
local staged = {}
local counted = {}
local all = true
for i = 1, #KEYS do
  local key = KEYS[i]
  local at = 2 + (i - 1) * 6
  local code = ARGV[at + 1]
  local cost = tonumber(ARGV[at + 2])
  local limit = tonumber(ARGV[at + 3])
  local window = tonumber(ARGV[at + 4])
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
        counted[#counted + 1] = { key = key, field = field, cost = cost, prior = prior, wid = wid, ends = window_end }
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
    local s = staged[key]
    if s == nil then s = decode(redis.call("GET", key)) end
    allowed, state, remaining, retry, reset, delay =
      MIRRORS[code](s, now, cost, limit, window, tonumber(ARGV[at + 5]), tonumber(ARGV[at + 6]))
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
  for key, s in pairs(staged) do
    local ttl = math.ceil(s[1] - now)
    if ttl > 0 then redis.call("SET", key, encode(s), "PX", ttl) else redis.call("DEL", key) end
  end
  for _, c in ipairs(counted) do
    if c.prior == 0 then
      redis.call("HDEL", c.key, string.format("%.0f", c.wid - 1))
      redis.call("PEXPIRE", c.key, math.ceil(c.ends - now))
    end
  end
else
  for j = #counted, 1, -1 do
    local c = counted[j]
    if c.prior == 0 then redis.call("HDEL", c.key, c.field) else redis.call("HINCRBY", c.key, c.field, -c.cost) end
  end
end
return out
`;
