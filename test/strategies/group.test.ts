import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Rate } from "../../src/rate.js";
import { type GroupMember, stageGroup } from "../../src/strategies/group.js";
import { FixedWindowStrategy, TokenBucketStrategy } from "../../src/strategies/index.js";
import type { Step, StrategyState } from "../../src/strategies/strategy.js";
import { allStrategies, clockArb, rateArb } from "./harness.js";

type States = Map<string, StrategyState | undefined>;

/**
 * The obvious definition: decide the members one after another on a scratch copy of the
 * stored states, each admitted member writing its state there; keep the copy only if every
 * member was admitted.
 */
function sequentially(members: readonly GroupMember<string>[], stored: States, now: number) {
  const scratch: States = new Map(stored);
  const steps: Step[] = [];
  for (const member of members) {
    const step = member.strategy.apply(scratch.get(member.key), now, member.cost, member.rate);
    if (step.allowed) scratch.set(member.key, step.state);
    steps.push(step);
  }
  return { steps, after: steps.every((step) => step.allowed) ? scratch : stored };
}

const strategies = allStrategies();

/** Up to three keys, each one throttle (a strategy and a rate) with a state of some history. */
const groupArb = fc
  .record({
    now: clockArb,
    keys: fc.array(
      fc.record({
        strategy: fc.integer({ min: 0, max: strategies.length - 1 }),
        rate: rateArb,
        history: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 6 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    members: fc.array(fc.record({ key: fc.nat(), cost: fc.integer({ min: 0, max: 6 }) }), {
      minLength: 1,
      maxLength: 6,
    }),
  })
  .map(({ now, keys, members }) => {
    const stored: States = new Map();
    const throttles = keys.map((key, k) => {
      const strategy = strategies[key.strategy] as (typeof strategies)[number];
      let state: StrategyState | undefined;
      // The history happened a little earlier, so the states are live and partly spent.
      for (const cost of key.history) {
        const step = strategy.apply(state, now - 1, cost, key.rate);
        if (step.allowed) state = step.state;
      }
      stored.set(`k${k}`, state);
      return { key: `k${k}`, strategy, rate: key.rate };
    });
    const group = members.map(({ key, cost }) => {
      const throttle = throttles[key % throttles.length] as (typeof throttles)[number];
      return { ...throttle, cost, state: stored.get(throttle.key) };
    });
    return { now, stored, group };
  });

describe("stageGroup", () => {
  it("decides as the members one after another would, committing only if all are admitted", () => {
    fc.assert(
      fc.property(groupArb, ({ now, stored, group }) => {
        const expected = sequentially(group, stored, now);
        const staged = stageGroup(group, now);
        assert.deepEqual(staged.steps, expected.steps);
        const after: States = new Map(stored);
        for (const commit of staged.commits) {
          assert.equal(commit.state, (staged.steps[commit.member] as Step).state);
          assert.equal((group[commit.member] as GroupMember<string>).key, commit.key);
          after.set(commit.key, commit.state);
        }
        assert.deepEqual(after, expected.after);
        const keys = staged.commits.map((commit) => commit.key);
        assert.equal(new Set(keys).size, keys.length, "each key is committed once");
        if (!staged.steps.every((step) => step.allowed)) assert.deepEqual(staged.commits, []);
      }),
      { numRuns: 500 },
    );
  });

  it("lets a repeated key see the first member's staged state, and a rejection commit nothing", () => {
    const rate = Rate.parse("2/h");
    const strategy = new FixedWindowStrategy();
    const now = 1_800_000_000_000;
    const member = { key: "a", strategy, rate, cost: 1, state: undefined };
    const twice = stageGroup([member, member], now);
    assert.deepEqual(
      twice.steps.map((step) => step.remaining),
      [1, 0],
    );
    assert.deepEqual(
      twice.commits.map(({ key, member: index }) => [key, index]),
      [["a", 1]],
    );
    const other = {
      key: "b",
      strategy: new TokenBucketStrategy(),
      rate,
      cost: 3,
      state: undefined,
    };
    const rejected = stageGroup([member, other], now);
    assert.deepEqual(
      rejected.steps.map((step) => step.allowed),
      [true, false],
    );
    assert.deepEqual(rejected.commits, []);
  });
});
