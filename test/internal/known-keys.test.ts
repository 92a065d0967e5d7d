import "reflect-metadata";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientAddress, HTTPThrottle, Rate, throttled, WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MemcachedBackend } from "traffik/backends/memcached";
import { RedisBackend } from "traffik/backends/redis";
import { ConfigurationError } from "traffik/errors";
import * as express from "traffik/express";
import * as fastify from "traffik/fastify";
import * as hono from "traffik/hono";
import { TraffikGuard, TraffikModule } from "traffik/nestjs";
import {
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "traffik/strategies";
import { guardMessages, throttleMessages, throttleUpgrade } from "traffik/ws";
import { rejectUnknownOptions } from "../../src/internal/known-keys.js";

/** Options given as plain JavaScript would, where the compiler cannot catch a typo. */
const loose = (options: Record<string, unknown>): never => options as never;
const throttle = new HTTPThrottle({ uid: "t", rate: "1/s" });
const quietSocket = {
  on: () => undefined,
  once: () => undefined,
  close: () => undefined,
  send: () => undefined,
};

/** Each public constructor or factory taking options, called with one misspelt or foreign key. */
const cases: readonly [what: string, call: () => unknown, suggested: string][] = [
  ["Rate", () => new Rate(loose({ limit: 1, minute: 1 })), "minutes"],
  ["clientAddress", () => clientAddress(loose({ trustedProxy: ["10.0.0.0/8"] })), "trustedProxies"],
  [
    "HTTPThrottle",
    () => new HTTPThrottle(loose({ uid: "a", rate: "1/s", keyGenerator: () => "k" })),
    "identifier",
  ],
  [
    "WebSocketThrottle",
    () => new WebSocketThrottle(loose({ uid: "a", rate: "1/s", onErorr: "allow" })),
    "onError",
  ],
  [
    "throttled decorator",
    () => throttled(throttle, loose({ conection: () => ({}) })),
    "connection",
  ],
  ["GCRAStrategy", () => new GCRAStrategy(loose({ brust: 2 })), "burst"],
  ["TokenBucketStrategy", () => new TokenBucketStrategy(loose({ burstsize: 2 })), "burstSize"],
  [
    "TokenBucketWithDebtStrategy",
    () => new TokenBucketWithDebtStrategy(loose({ maxdebt: 2 })),
    "maxDebt",
  ],
  ["LeakyBucketStrategy", () => new LeakyBucketStrategy(loose({ capcity: 2 })), "capacity"],
  [
    "LeakyBucketWithQueueStrategy",
    () => new LeakyBucketWithQueueStrategy(loose({ queueLength: 2 })),
    "queueSize",
  ],
  ["InMemoryBackend", () => new InMemoryBackend(loose({ namesapce: "n" })), "namespace"],
  [
    "RedisBackend",
    () => new RedisBackend(loose({ connection: "redis://127.0.0.1:1", prefix: "n" })),
    "namespace",
  ],
  [
    "MemcachedBackend",
    () => new MemcachedBackend(loose({ servers: ["127.0.0.1:1"], timeout: 5 })),
    "timeoutMs",
  ],
  ["express throttled()", () => express.throttled(loose({ header: false }), throttle), "headers"],
  [
    "fastify throttled()",
    () => fastify.throttled(loose({ respondwith: "error" }), throttle),
    "respondWith",
  ],
  [
    "hono throttled()",
    () => hono.throttled(loose({ standardHeaders: "draft-7" }), throttle),
    "headers",
  ],
  [
    "ThrottleMiddleware",
    () => express.ThrottleMiddleware(loose({ store: new InMemoryBackend() })),
    "backend",
  ],
  [
    "MiddlewareThrottle",
    () => express.MiddlewareThrottle(throttle, loose({ method: ["GET"] })),
    "methods",
  ],
  [
    "ws throttleMessages",
    () =>
      throttleMessages(quietSocket, {}, loose({ throttles: throttle, onMesage: () => undefined })),
    "onMessage",
  ],
  [
    "ws guardMessages",
    () =>
      guardMessages(
        loose({ connection: {}, socket: quietSocket, throttles: throttle, onMesage: () => 0 }),
      ),
    "onMessage",
  ],
  [
    "ws throttleUpgrade",
    () => throttleUpgrade(loose({ onerror: () => undefined }), throttle),
    "onError",
  ],
  ["nestjs TraffikGuard", () => new TraffikGuard(loose({ throttle: [throttle] })), "throttles"],
  [
    "nestjs forRootAsync",
    () => TraffikModule.forRootAsync(loose({ useFactory: () => ({}), injects: [] })),
    "inject",
  ],
];

describe("options objects reject unknown keys", () => {
  for (const [what, call, suggested] of cases) {
    it(`${what}, naming the nearest valid key`, () => {
      assert.throws(call, (error: unknown) => {
        assert.ok(error instanceof ConfigurationError, String(error));
        assert.match(error.message, new RegExp(`did you mean "${suggested}"\\?`), error.message);
        return true;
      });
    });
  }
});

describe("rejectUnknownOptions", () => {
  type Options = { identifier?: unknown; rate?: string; uid?: string };
  const names = { identifier: true, rate: true, uid: true } as const;
  const check = (options: Options | undefined) => rejectUnknownOptions("T", options, names);

  it("accepts known keys, no options, and keys holding undefined when known", () => {
    check({ uid: "a", rate: "1/s" });
    check(undefined);
    check({ identifier: undefined });
  });

  it("lists the valid keys when nothing is near", () => {
    assert.throws(
      () => check(loose({ zzzzzzzz: 1 })),
      /T: unknown option "zzzzzzzz"\. Valid options: identifier, rate, uid\./,
    );
  });

  it("rejects a key that only looks known from the prototype", () => {
    assert.throws(() => check(loose({ toString: 1 })), ConfigurationError);
  });
});
