import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import type { StrategyState } from "../../../src/strategies/strategy.js";
import { allStrategies, rateArb, traceArb } from "../../strategies/harness.js";
import { hasBinary, type RedisServer, startRedis } from "../../support/servers.js";

const enabled = hasBinary("redis-server");

describe("Lua mirrors decide exactly as the TypeScript strategies", { skip: !enabled }, () => {
  let server: RedisServer;
  let now = 0;
  let backend: RedisBackend;
  let run = 0;

  before(async () => {
    server = await startRedis();
    // The test-only clock: both sides see the same `now`.
    backend = new RedisBackend({
      connection: server.url,
      namespace: "parity",
      clock: () => now,
      blockCache: false,
    });
    await backend.initialize();
  });
  after(async () => {
    await backend.close();
    await server.stop();
  });

  for (const strategy of allStrategies()) {
    it(`${strategy.name}: same decisions over random traces`, async () => {
      await fc.assert(
        fc.asyncProperty(rateArb, traceArb, async (rate, trace) => {
          const identity = `client-${run++}`;
          let state: StrategyState | undefined;
          now = 1_700_000_000_000 + (run % 977) * 13.37;
          for (const { gapMs, cost } of trace) {
            now += gapMs;
            if (cost > strategy.capacity(rate)) continue;
            const expected = strategy.apply(state, now, cost, rate);
            if (expected.allowed && cost > 0) state = expected.state;
            const mode = cost === 0 ? "peek" : "consume";
            const actual = await backend.decide({ uid: "p", identity, strategy, rate, cost }, mode);
            const pick = (s: typeof expected) => [
              s.allowed,
              s.remaining,
              s.retryAfterMs,
              s.resetAfterMs,
              s.delayMs,
            ];
            assert.deepEqual(pick(actual), pick(expected), `at ${now} with cost ${cost}`);
          }
        }),
        { numRuns: 40 },
      );
    });
  }
});
