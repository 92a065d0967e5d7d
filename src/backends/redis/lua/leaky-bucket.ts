/** Lua mirrors of `LeakyBucketStrategy.apply` and `LeakyBucketWithQueueStrategy.apply`. */
export const LEAKY_BUCKET_LUA = `
local function leaky_bucket(s, now, cost, limit, window, bucket_capacity)
  local capacity = bucket_capacity or limit
  if cost > capacity then return beyond_capacity(s, now) end
  local leak = limit / window
  local level = 0
  if is_live(s, 3, now) then
    level = math.max(0, s[2] - math.max(0, now - s[3]) * leak)
  end
  if level + cost > capacity + EPSILON then
    return rejected(s, whole(capacity - level), (level + cost - capacity) / leak, level / leak)
  end
  local filled = level + cost
  local reset = filled / leak
  return true, { now + reset, filled, now }, whole(capacity - filled), 0, reset, 0
end

local function leaky_bucket_with_queue(s, now, cost, limit, window, queue_size)
  local queued = queue_size or limit
  if cost > queued + 1 then return beyond_capacity(s, now) end
  local interval = window / limit
  local queue_ms = queued * interval
  local start = now
  if is_live(s, 1, now) then start = s[1] end
  local delay = start - now
  local overflow = delay + (cost - 1) * interval - queue_ms
  if overflow > EPSILON * interval then
    return rejected(s, whole((queue_ms - delay) / interval + 1), overflow, delay)
  end
  local next_start = start + cost * interval
  local backlog = next_start - now
  if cost <= 0 then delay = 0 end
  return true, { next_start }, whole((queue_ms - backlog) / interval + 1), 0, backlog, delay
end
`;
