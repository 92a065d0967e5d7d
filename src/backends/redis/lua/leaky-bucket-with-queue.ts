/** Lua mirror of `LeakyBucketWithQueueStrategy.apply`. */
export const LEAKY_BUCKET_WITH_QUEUE_LUA = `
local function leaky_bucket_with_queue(s, now, cost, limit, window, queue_size)
  local queued = queue_size or limit
  local queue = queued * window
  local wait = 0
  if is_live(s, 2, now) then wait = max(0, (s[1] - now) * limit - s[2]) end
  local free = max(0, floor_div(queue - wait, window) + 1)
  if cost > queued + 1 then return beyond_capacity(s, now, free) end
  local overflow = wait + (cost - 1) * window - queue
  if overflow > 0 then
    return rejected(s, free, ceil_div(overflow, limit), ceil_div(wait, limit))
  end
  local backlog = wait + cost * window
  local backlog_ms = ceil_div(backlog, limit)
  local delay = 0
  if cost > 0 then delay = ceil_div(wait, limit) end
  return true, { now + backlog_ms, backlog_ms * limit - backlog }, floor_div(queue - backlog, window) + 1, 0, backlog_ms, delay
end
`;
