import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import type { RedisBackend } from "../../../src/backends/redis/index.js";
import { stateKey } from "../../../src/backends/redis/keys.js";
import { Rate } from "../../../src/rate.js";
import { allStrategies } from "../../strategies/harness.js";
import { backendOn, clientKinds } from "../../support/redis-clients.js";
import { hasBinary, type RedisServer, startRedis } from "../../support/servers.js";
import { assertSameDecisions } from "../shared-checks.js";
import { assertSameDecisionsOnServerClock } from "./server-clock-parity.js";

const enabled = hasBinary("redis-server");

for (const kind of clientKinds)
  describe(`Lua mirrors decide exactly as the TypeScript strategies, through ${kind.name}`, {
    skip: !enabled,
  }, () => {
    let server: RedisServer;
    let now = 0;
    let backend: RedisBackend;

    before(async () => {
      server = await startRedis();
      // The test-only clock: both sides see the same `now`. A deadline no stall of a loaded
      // machine reaches: this compares decisions, it does not time them.
      backend = backendOn(kind, server.url, {
        namespace: "parity",
        clock: () => now,
        blockCache: false,
        timeoutMs: 60_000,
      });
      await backend.initialize();
    });
    after(async () => {
      await backend.close();
      await server.stop();
    });

    // Written by a hand or another program: the script decides as on no state at all.
    const MALFORMED = ["", "x", "1,", ",1", "1,,2", "nan,1", "1,nan", "inf,1", "1,-inf", "1e400,1"];
    for (const strategy of allStrategies()) {
      it(`${strategy.name}: a malformed stored state counts as none`, async () => {
        const admin = new Redis(server.url);
        try {
          const rate = new Rate({ limit: 5, milliseconds: 60_000 });
          now = 1_000_000;
          const expected = strategy.apply(undefined, now, 1, rate);
          for (const [i, raw] of MALFORMED.entries()) {
            const identity = `malformed-${i}`;
            await admin.set(`parity:${stateKey("m", identity)}`, raw);
            const request = { uid: "m", identity, strategy, rate, cost: 1 };
            const step = await backend.decide(request, "consume");
            assert.equal(step.allowed, expected.allowed, JSON.stringify(raw));
            assert.equal(step.remaining, expected.remaining, JSON.stringify(raw));
            assert.equal(step.resetAfterMs, expected.resetAfterMs, JSON.stringify(raw));
          }
        } finally {
          admin.disconnect();
        }
      });
      for (const via of ["alone", "group", "batch"] as const) {
        it(`${strategy.name}: same decisions over random traces, ${via}`, () =>
          assertSameDecisions(
            backend,
            strategy,
            (at) => {
              now = at;
            },
            ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"],
            via === "alone" ? 40 : 15,
            via,
          ));
      }
    }
  });

for (const kind of clientKinds)
  describe(`Lua mirrors decide as the TypeScript strategies on the server's clock, through ${kind.name}`, {
    skip: !enabled,
  }, () => {
    let server: RedisServer;
    let admin: Redis;
    let backend: RedisBackend;

    before(async () => {
      server = await startRedis();
      admin = new Redis(server.url);
      // No test clock: the production path, where the script reads the server's TIME.
      backend = backendOn(kind, server.url, { namespace: "live", blockCache: false });
      await backend.initialize();
    });
    after(async () => {
      await backend.close();
      admin.disconnect();
      await server.stop();
    });

    for (const strategy of allStrategies()) {
      for (const via of ["alone", "group", "batch"] as const) {
        it(`${strategy.name}: each step is the strategy's at the script's moment, ${via}`, () =>
          assertSameDecisionsOnServerClock({
            backend,
            admin,
            namespace: "live",
            strategy,
            via,
            numRuns: via === "alone" ? 12 : 6,
          }));
      }
    }
  });
