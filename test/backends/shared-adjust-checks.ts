/**
 * Checks of penalties, rewards and bans every backend must pass (each backend's test runs them
 * on a real server): they move a client's count as the strategy says, lose nothing when they
 * race requests and each other (in one process and in four), and a ban rejects with its
 * remainder in every process, counts nothing, and outlives rewards.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { ConfigurationError } from "../../src/errors.js";
import { HTTPThrottle, Rate, tryHitAll } from "../../src/index.js";
import {
  FixedWindowStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../src/strategies/index.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/strategy.js";
import { allStrategies } from "../strategies/harness.js";

const run = promisify(execFile);

/** A connection from one address: what the default identifier reads. */
export const fromAddress = (remoteAddress: string) => ({ socket: { remoteAddress }, headers: {} });

/** A month: windows so long that no count refills or rolls over while a check runs. */
const MONTH_MS = 30 * 86_400_000;

/**
 * The strategies the races run, with rates under which nothing refills or expires during a
 * test: any difference in the counts is a lost update, never the clock.
 */
export function raceStrategies(): [name: string, strategy: Strategy, rate: Rate][] {
  const monthly = new Rate({ limit: 200, milliseconds: MONTH_MS });
  return [
    ["fixed-window", new FixedWindowStrategy(), monthly],
    ["sliding-log", new SlidingWindowLogStrategy(), Rate.parse("200/h")],
    ["token-bucket", new TokenBucketStrategy(), monthly],
  ];
}

let uids = 0;
const uid = (name: string) => `adj-${name}-${process.pid}-${uids++}`;

type Check = (backend: ThrottleBackend) => Promise<void>;

/** Every check, by name, for a backend's test to run as its own `it`. */
export const adjustChecks: readonly (readonly [string, Check])[] = [
  [
    "a penalty takes its points and a reward gives them back, for every strategy",
    async (backend) => {
      for (const strategy of allStrategies()) {
        const rate = new Rate({ limit: 10, milliseconds: MONTH_MS });
        const throttle = new HTTPThrottle({ uid: uid("each"), rate, strategy, backend });
        const client = fromAddress("192.0.2.1");
        await throttle.penalty(client, 2);
        const before = await throttle.peek(client);
        const penalised = await throttle.penalty({ identity: "192.0.2.1" }, 3);
        assert.equal(penalised.remaining, Math.max(0, before.remaining - 3), strategy.name);
        const peeked = await throttle.peek(client);
        assert.deepEqual(
          [peeked.allowed, peeked.remaining],
          [penalised.allowed, penalised.remaining],
        );
        const rewarded = await throttle.reward(client, 3);
        assert.equal(rewarded.remaining, before.remaining, strategy.name);
        // Never past the capacity: as a client that never came.
        const full = await throttle.reward(client, 1_000);
        assert.equal(full.remaining, (await throttle.peek(fromAddress("192.0.2.2"))).remaining);
      }
    },
  ],
  [
    "a penalty past the limit rejects, until rewards make room: a bucket goes into debt",
    async (backend) => {
      const rate = new Rate({ limit: 5, milliseconds: MONTH_MS });
      const client = fromAddress("192.0.2.3");
      const window = new HTTPThrottle({ uid: uid("over"), rate, backend });
      await window.penalty(client, 50);
      assert.equal((await window.tryHit(client)).allowed, false);
      await window.reward(client, 1);
      assert.equal(
        (await window.tryHit(client)).allowed,
        true,
        "a window holds no more than its limit",
      );

      const strategy = new TokenBucketStrategy();
      const bucket = new HTTPThrottle({ uid: uid("debt"), rate, strategy, backend });
      await bucket.penalty(client, 50);
      await bucket.reward(client, 5);
      const inDebt = await bucket.tryHit(client);
      assert.equal(inDebt.allowed, false, "5 tokens of debt are left to repay");
      await bucket.reward(client, 6);
      assert.equal((await bucket.tryHit(client)).allowed, true);
    },
  ],
  [
    "penalties, rewards and requests in flight together lose nothing",
    async (backend) => {
      for (const [name, strategy, rate] of raceStrategies()) {
        const throttle = new HTTPThrottle({ uid: uid(name), rate, strategy, backend });
        const client = fromAddress("192.0.2.4");
        await throttle.penalty(client, 50);
        const calls: Promise<{ allowed: boolean }>[] = [];
        for (let i = 0; i < 10; i++) calls.push(throttle.tryHit(client));
        for (let i = 0; i < 10; i++) calls.push(throttle.penalty(client, 1));
        for (let i = 0; i < 10; i++) calls.push(throttle.reward(client, 1));
        const hits = (await Promise.all(calls)).slice(0, 10);
        assert.ok(
          hits.every((hit) => hit.allowed),
          name,
        );
        // 200 - 50 - 10, less the one a request of cost 1 would take. Exact in every order:
        // the count stays within 40..70, so no reward meets 0 and no penalty the limit.
        assert.equal((await throttle.peek(client)).remaining, 139, name);
      }
    },
  ],
  [
    "a ban rejects with its remainder, counts nothing, outlives rewards, and lifts",
    async (backend) => {
      const rate = Rate.parse("10/h");
      const throttle = new HTTPThrottle({ uid: uid("ban"), rate, backend, blocking: true });
      const other = new HTTPThrottle({ uid: uid("ban-other"), rate, backend });
      const client = fromAddress("192.0.2.5");
      await throttle.tryHit(client);
      const banned = await throttle.block(client, 60_000);
      assert.equal(banned.allowed, false);
      const hit = await throttle.tryHit(client);
      assert.equal(hit.allowed, false);
      assert.ok(hit.retryAfterMs > 50_000 && hit.retryAfterMs <= 60_000, `${hit.retryAfterMs}`);
      assert.equal(hit.remaining, 0);
      assert.equal((await throttle.peek(client)).allowed, false);
      // A shorter ban does not cut a longer one.
      await throttle.block(client, 1_000);
      assert.ok((await throttle.tryHit(client)).retryAfterMs > 50_000);
      await throttle.reward(client, 10);
      assert.equal((await throttle.tryHit(client)).allowed, false, "a reward does not lift a ban");
      // Others are not banned, and a group with a banned member counts nothing anywhere.
      assert.equal((await throttle.tryHit(fromAddress("192.0.2.6"))).allowed, true);
      const group = await tryHitAll([throttle, other], client);
      assert.ok(group.some((decision) => !decision.allowed));
      assert.equal((await other.peek(client)).remaining, 9);
      await throttle.unblock(client);
      const after = await throttle.tryHit(client);
      assert.equal(after.allowed, true);
      // One hit before the ban, the reward of 10 (capped), this one: the ban counted nothing.
      assert.equal(after.remaining, 9);
    },
  ],
  [
    "penalty and reward need a strategy's adjust; block needs blocking: true",
    async (backend) => {
      const bare: Strategy = {
        name: "bare",
        capacity: (rate) => rate.limit,
        apply: (state: StrategyState | undefined, now: number, cost: number, rate: Rate): Step =>
          new FixedWindowStrategy().apply(state, now, cost, rate),
      };
      const custom = new HTTPThrottle({ uid: uid("bare"), rate: "5/m", strategy: bare, backend });
      const client = fromAddress("192.0.2.7");
      await assert.rejects(custom.penalty(client, 1), ConfigurationError);
      await assert.rejects(custom.reward(client, 1), ConfigurationError);
      await assert.rejects(custom.block(client, 1_000), ConfigurationError);
      const plain = new HTTPThrottle({ uid: uid("plain"), rate: "5/m", backend });
      await assert.rejects(plain.penalty(client, -1), /at least 0/);
      await assert.rejects(plain.penalty(client, 1.5), /whole number/);
      const blocking = new HTTPThrottle({ uid: uid("b"), rate: "5/m", backend, blocking: true });
      await assert.rejects(blocking.block(client, 0), ConfigurationError);
      await assert.rejects(blocking.block(client, Number.POSITIVE_INFINITY), ConfigurationError);
    },
  ],
];

/**
 * Four OS processes race requests, penalties and rewards at one client per strategy, twice:
 * first where no bound binds, so every request is admitted and the count ends exact; then at
 * the limit, where what was admitted and the count at the end must agree to the unit.
 */
export async function assertAdjustmentsAcrossFourProcesses(
  kind: "redis" | "memcached" | "custom" | "postgres" | "sqlite",
  address: string,
  setUp: ThrottleBackend,
): Promise<void> {
  const prefix = `race-${process.pid}-${uids++}`;
  const throttles = raceStrategies().map(
    ([name, strategy, rate]) =>
      [
        name,
        new HTTPThrottle({
          uid: `${prefix}-${name}`,
          rate,
          strategy,
          backend: setUp,
          identifier: () => "shared",
        }),
      ] as const,
  );
  const race = async (hits: number, penalties: number, rewards: number) => {
    const worker = join(import.meta.dirname, "adjust-race-worker.ts");
    const args = [kind, address, String(hits), String(penalties), String(rewards), prefix];
    const outputs = await Promise.all(
      [0, 1, 2, 3].map(() =>
        run(process.execPath, ["--import", "tsx", worker, ...args], { encoding: "utf8" }),
      ),
    );
    const totals: Record<string, number> = {};
    for (const { stdout } of outputs) {
      for (const [name, count] of Object.entries(JSON.parse(stdout) as Record<string, number>)) {
        totals[name] = (totals[name] ?? 0) + count;
      }
    }
    return totals;
  };
  const shared = { identity: "shared" };

  // From 50 of 200 taken: 40 requests, 40 penalties and 40 rewards stay within both bounds.
  for (const [, throttle] of throttles) await throttle.penalty(shared, 50);
  const free = await race(10, 10, 10);
  for (const [name, throttle] of throttles) {
    assert.equal(free[name], 40, `${name}: every request admitted`);
    assert.equal((await throttle.peek({})).remaining, 200 - 90 - 1, name);
  }

  // From 190 taken: 80 requests and 40 rewards; the count never falls to 0, so it ends at
  // 150 plus what was admitted, and never above the limit.
  for (const [, throttle] of throttles) await throttle.penalty(shared, 100);
  const bound = await race(20, 0, 10);
  for (const [name, throttle] of throttles) {
    const admitted = bound[name] as number;
    assert.ok(admitted <= 50, `${name}: admitted ${admitted}, at most 10 free + 40 rewarded`);
    const left = (await throttle.peek({}, { cost: 0 })).remaining;
    assert.equal(200 - left, 150 + admitted, `${name}: admitted ${admitted}, ${left} left`);
  }
}
