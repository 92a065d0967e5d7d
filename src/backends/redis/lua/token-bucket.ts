/** Lua mirror of the token bucket both token-bucket strategies share (`token-bucket-math.ts`). */
export const TOKEN_BUCKET_LUA = `
local function token_bucket_step(s, now, cost, burst, max_debt, refill)
  local tokens = burst
  if is_live(s, 3, now) then
    tokens = math.min(burst, s[2] + math.max(0, now - s[3]) * refill)
  end
  local available = tokens + max_debt
  if cost > available + EPSILON then
    return rejected(s, whole(available), (cost - available) / refill, (burst - tokens) / refill)
  end
  local left = tokens - cost
  local reset = math.max(0, (burst - left) / refill)
  return true, { now + reset, left, now }, whole(left + max_debt), 0, reset, 0
end

local function token_bucket(s, now, cost, limit, window, burst_size)
  local burst = burst_size or limit
  if cost > burst then return beyond_capacity(s, now) end
  return token_bucket_step(s, now, cost, burst, 0, limit / window)
end

local function token_bucket_with_debt(s, now, cost, limit, window, burst_size, max_debt)
  local burst = burst_size or limit
  local debt = max_debt or limit
  if cost > burst + debt then return beyond_capacity(s, now) end
  return token_bucket_step(s, now, cost, burst, debt, limit / window)
end
`;
