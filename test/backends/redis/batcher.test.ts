import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DecisionBatcher, type Entry } from "../../../src/backends/redis/batcher.js";
import type { DecisionMode } from "../../../src/backends/types.js";
import type { Step } from "../../../src/strategies/strategy.js";

interface Call {
  readonly mode: DecisionMode;
  readonly entries: readonly Entry[];
  answer(): void;
}

/** A batcher whose calls wait until the test answers them, each request's step naming its key. */
function recording() {
  const calls: Call[] = [];
  const batcher = new DecisionBatcher<Entry>(
    (mode, entries) =>
      new Promise<Step[]>((resolve) => {
        calls.push({
          mode,
          entries,
          answer: () =>
            resolve(entries.flatMap((e) => e.keys.map((key) => ({ key }) as unknown as Step))),
        });
      }),
  );
  return { calls, batcher };
}

const entry = (...keys: string[]): Entry => ({ keys });
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("DecisionBatcher", () => {
  it("sends a lone decision at once, and gathers those made while it is in flight", async () => {
    const { calls, batcher } = recording();
    const first = batcher.submit("consume", entry("a"));
    assert.equal(calls.length, 1, "sent in the same turn");
    const gathered = [batcher.submit("consume", entry("b")), batcher.submit("peek", entry("c"))];
    await turn();
    assert.deepEqual(
      calls.map((c) => `${c.mode}:${c.entries.flatMap((e) => e.keys).join("")}`),
      ["consume:a", "consume:b", "peek:c"],
    );
    for (const call of calls) call.answer();
    assert.deepEqual(await first, [{ key: "a" }]);
    assert.deepEqual(await Promise.all(gathered), [[{ key: "b" }], [{ key: "c" }]]);
  });

  it("splits 64 decisions into two calls of 32, both in flight at once, so Redis runs one while the other is answered", async () => {
    const { calls, batcher } = recording();
    const busy = batcher.submit("consume", entry("busy"));
    const decisions = Array.from({ length: 64 }, (_, i) =>
      batcher.submit("consume", entry(`k${i}`)),
    );
    await turn();
    assert.deepEqual(
      calls.slice(1).map((c) => c.entries.length),
      [32, 32],
    );
    // Answered in any order, each decision gets its own request's step.
    for (const call of calls.reverse()) call.answer();
    await busy;
    const steps = await Promise.all(decisions);
    assert.deepEqual(
      steps.map((s) => (s[0] as unknown as { key: string }).key),
      decisions.map((_, i) => `k${i}`),
    );
  });

  it("keeps a group whole in one call, never split across two", async () => {
    const { calls, batcher } = recording();
    void batcher.submit("consume", entry("busy"));
    void batcher.submit("consume", entry(...Array.from({ length: 30 }, (_, i) => `a${i}`)));
    void batcher.submit("consume", entry("g1", "g2", "g3"));
    await turn();
    assert.deepEqual(
      calls.slice(1).map((c) => c.entries.map((e) => e.keys.length)),
      [[30], [3]],
    );
    for (const call of calls) call.answer();
  });
});
