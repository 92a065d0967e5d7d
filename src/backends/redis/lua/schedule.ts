/**
 * Lua mirror of `scheduleStep` (`strategies/schedule.ts`), the one algorithm behind the token
 * bucket (with and without debt), the metering leaky bucket and GCRA, and of each strategy's
 * options.
 */
export const SCHEDULE_LUA = `
local function schedule_step(s, now, cost, size, debt, limit, window)
  local missing = 0
  if is_live(s, 2, now) then missing = max(0, (s[1] - now) * limit - s[2]) end
  local available = (size + debt) * window - missing
  local needed = cost * window
  if needed > available then
    return rejected(s, units_in(available, window), ceil_div(needed - available, limit), ceil_div(missing, limit))
  end
  local after = missing + needed
  local full_after = ceil_div(after, limit)
  return true, { now + full_after, full_after * limit - after }, floor_div(available - needed, window), 0, full_after, 0
end

local function scheduled(s, now, cost, limit, window, size, debt)
  if cost <= size + debt then return schedule_step(s, now, cost, size, debt, limit, window) end
  local _, _, remaining = schedule_step(s, now, 0, size, debt, limit, window)
  return beyond_capacity(s, now, remaining)
end

local function token_bucket(s, now, cost, limit, window, burst_size)
  return scheduled(s, now, cost, limit, window, burst_size or limit, 0)
end

local function token_bucket_with_debt(s, now, cost, limit, window, burst_size, max_debt)
  return scheduled(s, now, cost, limit, window, burst_size or limit, max_debt or limit)
end

local function leaky_bucket(s, now, cost, limit, window, bucket_capacity)
  return scheduled(s, now, cost, limit, window, bucket_capacity or limit, 0)
end

local function gcra(s, now, cost, limit, window, burst)
  return scheduled(s, now, cost, limit, window, burst or limit, 0)
end
`;
