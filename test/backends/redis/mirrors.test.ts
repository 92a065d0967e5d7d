/**
 * A strategy is decided by its Lua mirror only when it is exactly the class the mirror copies:
 * a subclass that overrides `apply`, or an instance given an `apply` of its own, is decided by
 * that `apply`, through the generic state path, on a real redis-server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { mirrorOf } from "../../../src/backends/redis/mirrors.js";
import type { DecisionRequest } from "../../../src/backends/types.js";
import { Rate } from "../../../src/rate.js";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "../../../src/strategies/index.js";
import type { Step, StrategyState } from "../../../src/strategies/strategy.js";
import { allStrategies } from "../../strategies/harness.js";
import { hasBinary, type RedisServer, startRedis } from "../../support/servers.js";
import { decideVia } from "../shared-checks.js";

/** A fixed window that admits twice the limit: the mirror of its base class would not. */
class DoubleFixedWindow extends FixedWindowStrategy {
  override apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    const doubled = new Rate({ limit: rate.limit * 2, milliseconds: rate.windowMs });
    return super.apply(state, now, cost, doubled);
  }
}

/** A token bucket that turns every request away, reporting a remaining no bucket would. */
class ClosedTokenBucket extends TokenBucketStrategy {
  override apply(state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step {
    const step = super.apply(state, now, cost, rate);
    return { ...step, state: state ?? [], allowed: false, remaining: 4242, retryAfterMs: 7 };
  }
}

/** A subclass that changes nothing: still not the mirror's exact class. */
class RenamedGCRA extends GCRAStrategy {}

describe("which strategies have a Lua mirror", () => {
  it("every built-in strategy, by its exact class", () => {
    for (const strategy of allStrategies()) {
      assert.notEqual(mirrorOf(strategy), undefined, strategy.name);
    }
  });

  it("no subclass, and no instance with an apply of its own", () => {
    assert.equal(mirrorOf(new DoubleFixedWindow()), undefined);
    assert.equal(mirrorOf(new ClosedTokenBucket()), undefined);
    assert.equal(mirrorOf(new RenamedGCRA()), undefined);
    const patched = new FixedWindowStrategy();
    patched.apply = () => {
      throw new Error("never called here");
    };
    assert.equal(mirrorOf(patched), undefined);
    const custom = { name: "custom", capacity: () => 1, apply: patched.apply };
    assert.equal(mirrorOf(custom), undefined);
  });

  it("a subclass's options do not reach a mirror of its base class", () => {
    // The debt bucket is a token bucket underneath: each keeps its own mirror.
    const debt = mirrorOf(new TokenBucketWithDebtStrategy({ maxDebt: 2 }));
    assert.notDeepEqual(debt, mirrorOf(new TokenBucketStrategy()));
  });
});

describe("RedisBackend decides a subclass by its own apply", {
  skip: !hasBinary("redis-server"),
}, () => {
  let server: RedisServer;
  let backend: RedisBackend;
  let clients = 0;

  before(async () => {
    server = await startRedis();
    backend = new RedisBackend({
      connection: server.url,
      namespace: "subclass",
      blockCache: false,
    });
    await backend.initialize();
  });
  after(async () => {
    await backend.close();
    await server.stop();
  });

  for (const via of ["alone", "group", "batch"] as const) {
    it(`a fixed window admitting twice the limit, ${via}`, async () => {
      const request: DecisionRequest = {
        uid: "double",
        identity: `c${clients++}`,
        strategy: new DoubleFixedWindow(),
        rate: Rate.parse("3/h"),
        cost: 1,
      };
      const steps: Step[] = [];
      for (let i = 0; i < 8; i++) steps.push(await decideVia(via, backend, request, "consume"));
      assert.deepEqual(
        steps.map((s) => s.allowed),
        [true, true, true, true, true, true, false, false],
      );
      assert.equal(steps[5]?.remaining, 0);
    });

    it(`a token bucket that rejects everything, ${via}`, async () => {
      const request: DecisionRequest = {
        uid: "closed",
        identity: `c${clients++}`,
        strategy: new ClosedTokenBucket(),
        rate: Rate.parse("3/h"),
        cost: 1,
      };
      const step = await decideVia(via, backend, request, "consume");
      assert.deepEqual([step.allowed, step.remaining, step.retryAfterMs], [false, 4242, 7]);
    });
  }
});
