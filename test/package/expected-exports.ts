/**
 * Every name each subpath exports, values (checked at run time from ES modules and CommonJS)
 * and types (checked in the published declarations). Anything missing or extra fails
 * test/package/exports.test.ts: a name added to the public API is added here on purpose.
 */
export const expectedExports: Record<string, { values: string[]; types: string[] }> = {
  traffik: {
    values: [
      "BaseThrottle",
      "HTTPThrottle",
      "Rate",
      "UNLIMITED",
      "WebSocketThrottle",
      "clientAddress",
      "defaultClientAddress",
      "hitAll",
      "throttled",
      "tryHitAll",
    ],
    types: [
      "AddressableConnection",
      "AnyThrottle",
      "ClientAddressOptions",
      "Decision",
      "ErrorAction",
      "ErrorHandler",
      "HitOptions",
      "IdentifiableConnection",
      "Identifier",
      "RateInit",
      "ThrottleOptions",
      "ThrottledDecorator",
      "ThrottledHandler",
      "ThrottledOptions",
      "Unlimited",
    ],
  },
  "traffik/strategies": {
    values: [
      "FixedWindowStrategy",
      "GCRAStrategy",
      "LeakyBucketStrategy",
      "LeakyBucketWithQueueStrategy",
      "SlidingWindowCounterStrategy",
      "SlidingWindowLogStrategy",
      "TokenBucketStrategy",
      "TokenBucketWithDebtStrategy",
    ],
    types: [
      "GCRAOptions",
      "LeakyBucketOptions",
      "LeakyBucketWithQueueOptions",
      "Step",
      "Strategy",
      "StrategyState",
      "TokenBucketOptions",
      "TokenBucketWithDebtOptions",
    ],
  },
  "traffik/errors": {
    values: [
      "AnonymousConnection",
      "BackendConfigurationError",
      "BackendConnectionError",
      "BackendError",
      "ConfigurationError",
      "ConnectionThrottled",
      "InvalidCost",
      "TraffikError",
      "TraffikException",
    ],
    types: ["ConnectionThrottledInit"],
  },
  "traffik/backend": {
    values: ["ThrottleBackend", "pollForLock"],
    types: [
      "DecisionMode",
      "DecisionRequest",
      "Lock",
      "LockOptions",
      "Step",
      "Strategy",
      "StrategyState",
      "ThrottleBackendOptions",
    ],
  },
  "traffik/backends/inmemory": { values: ["InMemoryBackend"], types: ["InMemoryBackendOptions"] },
  "traffik/backends/redis": {
    values: ["RedisBackend"],
    types: ["DegradedModeOptions", "RedisBackendOptions", "RedisClient"],
  },
  "traffik/backends/memcached": {
    values: ["MemcachedBackend"],
    types: ["DegradedModeOptions", "MemcachedBackendOptions"],
  },
  "traffik/backends/sqlite": {
    values: ["SQLiteBackend"],
    types: ["SQLiteBackendOptions"],
  },
  "traffik/backends/postgres": {
    values: ["PostgresBackend"],
    types: ["PostgresBackendOptions", "PostgresClient", "PostgresPool", "PostgresQuery"],
  },
  // Each loads without its framework installed: the framework is an optional peer.
  "traffik/express": {
    values: ["MiddlewareThrottle", "ThrottleMiddleware", "throttled"],
    types: [
      "ExpressMiddleware",
      "ExpressRequest",
      "HeaderFormat",
      "IntegrationOptions",
      "MiddlewareThrottleOptions",
      "ThrottleMiddlewareOptions",
      "ThrottledArgs",
    ],
  },
  "traffik/fastify": {
    values: ["MiddlewareThrottle", "ThrottleMiddleware", "throttled"],
    types: [
      "HeaderFormat",
      "IntegrationOptions",
      "MiddlewareThrottleOptions",
      "ThrottleHook",
      "ThrottleMiddlewareOptions",
      "ThrottledArgs",
    ],
  },
  "traffik/hono": {
    values: ["MiddlewareThrottle", "ThrottleMiddleware", "throttled"],
    types: [
      "HeaderFormat",
      "HonoConnection",
      "IntegrationOptions",
      "MiddlewareThrottleOptions",
      "ThrottleMiddlewareOptions",
      "ThrottledArgs",
    ],
  },
  "traffik/ws": {
    values: ["guardMessages", "rateLimitMessage", "throttleMessages", "throttleUpgrade"],
    types: [
      "GuardedSocket",
      "MessageGuard",
      "MessageGuardOptions",
      "RateLimitMessage",
      "ThrottleMessagesOptions",
      "ThrottleUpgradeOptions",
      "ThrottledMessageAction",
      "WsData",
      "WsSocket",
    ],
  },
  "traffik/nestjs": {
    values: ["SkipThrottle", "TRAFFIK_OPTIONS", "Throttled", "TraffikGuard", "TraffikModule"],
    types: ["TraffikModuleAsyncOptions", "TraffikModuleOptions"],
  },
};
