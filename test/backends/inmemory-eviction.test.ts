import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { Rate } from "../../src/index.js";
import type { Step, Strategy, StrategyState } from "../../src/strategies/index.js";
import {
  FixedWindowStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
} from "../../src/strategies/index.js";
import { collectWarnings, countMapWalks } from "./inmemory-support.js";

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const login = Rate.parse("5/15m");
const fixed = new FixedWindowStrategy();
const attempt = (identity: string, rate = login, strategy: Strategy = fixed) => ({
  uid: "login",
  identity,
  strategy,
  rate,
  cost: 1,
});

describe("InMemoryBackend eviction", () => {
  it("keeps a client locked out on 5/15m through a flood of new identities", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 100 });
    after(() => backend.close());
    for (let i = 0; i < 5; i++)
      assert.equal(backend.decide(attempt("victim"), "consume").allowed, true);
    assert.equal(backend.decide(attempt("victim"), "consume").allowed, false);
    collectWarnings(() => {
      for (let i = 0; i < 10_000; i++) {
        time.advance(1);
        backend.decide(attempt(`flood-${i}`), "consume");
      }
    });
    assert.equal(backend.size, 100);
    assert.equal(backend.decide(attempt("victim"), "consume").allowed, false, "still locked out");
  });

  it("keeps a client that used its last unit, even if it never was rejected", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 10 });
    after(() => backend.close());
    for (let i = 0; i < 5; i++) backend.decide(attempt("quiet"), "consume");
    collectWarnings(() => {
      for (let i = 0; i < 100; i++) backend.decide(attempt(`flood-${i}`), "consume");
    });
    assert.equal(backend.decide(attempt("quiet"), "consume").allowed, false);
  });

  it("evicts the least recently used, not the oldest created", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 3 });
    after(() => backend.close());
    const roomy = Rate.parse("100/h");
    for (const name of ["a", "b", "c"]) backend.decide(attempt(name, roomy), "consume");
    backend.decide(attempt("a", roomy), "consume"); // updated in place: a is now the youngest
    collectWarnings(() => backend.decide(attempt("d", roomy), "consume"));
    assert.equal(backend.decide(attempt("a", roomy), "peek").remaining, 97, "a kept its count");
    assert.equal(backend.decide(attempt("b", roomy), "peek").remaining, 99, "b was evicted");
  });

  it("evicts a client decided again only after every client decided before it", () => {
    const hourly = Rate.parse("100/h");
    const opened: InMemoryBackend[] = [];
    after(() => Promise.all(opened.map((backend) => backend.close())));
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
        (size, picks) => {
          const backend = new InMemoryBackend({
            namespace: "t",
            clock: clock().now,
            maxKeys: size,
          });
          opened.push(backend);
          const decide = (name: string, mode: "consume" | "peek" = "consume") =>
            backend.decide(attempt(name, hourly), mode);
          for (let i = 0; i < size; i++) decide(`c${i}`);
          for (const pick of picks) decide(`c${pick % size}`);
          const last = `c${(picks[picks.length - 1] as number) % size}`;
          const remaining = decide(last, "peek").remaining;
          let newClients = 0;
          collectWarnings(() => {
            while (decide(last, "peek").remaining === remaining) decide(`new-${newClients++}`);
          });
          // The other size - 1 clients go first; the next new client evicts it.
          assert.equal(newClients, size);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("never evicts a client decided once every maxKeys - 1 new clients", () => {
    const backend = new InMemoryBackend({ namespace: "t", clock: clock().now, maxKeys: 100 });
    after(() => backend.close());
    const roomy = Rate.parse("1000/h");
    collectWarnings(() => {
      for (let i = 0; i < 100; i++) backend.decide(attempt(`old-${i}`, roomy), "consume");
      for (let round = 0; round < 20; round++) {
        backend.decide(attempt("active", roomy), "consume");
        for (let i = 0; i < 99; i++) backend.decide(attempt(`new-${round}-${i}`, roomy), "consume");
      }
    });
    // A peek tells what a request would leave: the 20 counted, and its own unit.
    assert.equal(backend.decide(attempt("active", roomy), "peek").remaining, 1000 - 20 - 1);
  });

  it("drops an expired state before any live one", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 3 });
    after(() => backend.close());
    const hourly = Rate.parse("100/h");
    backend.decide(attempt("live-1", hourly), "consume");
    backend.decide(attempt("short", Rate.parse("100/s")), "consume");
    backend.decide(attempt("live-2", hourly), "consume");
    time.advance(1_000);
    const warnings = collectWarnings(() => backend.decide(attempt("new", hourly), "consume"));
    assert.deepEqual(warnings, [], "making room from an expired state is not being full");
    assert.equal(backend.decide(attempt("live-1", hourly), "peek").remaining, 98);
    assert.equal(backend.decide(attempt("live-2", hourly), "peek").remaining, 98);
  });

  it("when only throttled clients are left, evicts the least recently used one, and warns", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 3 });
    after(() => backend.close());
    const one = Rate.parse("1/h");
    for (const name of ["a", "b", "c"]) backend.decide(attempt(name, one), "consume");
    assert.equal(backend.decide(attempt("a", one), "consume").allowed, false); // a: most recent
    const warnings = collectWarnings(() => backend.decide(attempt("d", one), "consume"));
    assert.ok(warnings.includes("TRAFFIK_INMEMORY_EVICTING_THROTTLED"), String(warnings));
    assert.equal(backend.decide(attempt("a", one), "consume").allowed, false, "a kept");
    assert.equal(backend.decide(attempt("b", one), "consume").allowed, true, "b evicted");
  });

  it("marks a rejection inside a group as throttled too", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 2 });
    after(() => backend.close());
    const bucket = new TokenBucketStrategy({ burstSize: 2 });
    const roomy = Rate.parse("100/h");
    backend.decide(attempt("v", login, bucket), "consume");
    backend.decide(attempt("v", login, bucket), "consume");
    backend.decide(attempt("x", roomy), "consume");
    backend.decideAll([attempt("v", login, bucket)], "consume"); // rejected: v is throttled
    collectWarnings(() => backend.decide(attempt("y", roomy), "consume"));
    assert.equal(backend.decide(attempt("v", login, bucket), "consume").allowed, false);
  });
});

/** A sliding log whose stored states count the reads of their expiry (`state[0]`). */
function countingLog(reads: { count: number }): Strategy {
  const log = new SlidingWindowLogStrategy();
  const watch = (state: StrategyState): StrategyState =>
    new Proxy(state as number[], {
      get(target, property, receiver) {
        if (property === "0") reads.count++;
        return Reflect.get(target, property, receiver);
      },
    });
  return {
    name: "counting-log",
    capacity: (rate) => log.capacity(rate),
    apply(state, now, cost, rate): Step {
      const step = log.apply(state, now, cost, rate);
      return { ...step, state: watch(step.state) };
    },
  };
}

describe("InMemoryBackend eviction cost", () => {
  it("examines a bounded number of states per new client when the table is full", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 5_000 });
    after(() => backend.close());
    const reads = { count: 0 };
    const counting = countingLog(reads);
    const hourly = Rate.parse("100/h");
    // Full, with one state in a hundred about to expire: the costly layout for a scan.
    for (let i = 0; i < 5_000; i++) {
      const rate = i % 100 === 99 ? Rate.parse("100/s") : hourly;
      backend.decide({ ...attempt(`c${i}`, rate), strategy: counting }, "consume");
    }
    time.advance(1_000);
    reads.count = 0;
    const flood = 5_000;
    collectWarnings(() => {
      for (let i = 0; i < flood; i++) backend.decide(attempt(`new-${i}`, hourly), "consume");
    });
    assert.ok(reads.count <= 8 * flood, `${reads.count} expiry reads for ${flood} new clients`);
  });

  it("never starts a walk of a Map from its beginning to evict", () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxKeys: 1_000 });
    after(() => backend.close());
    for (let i = 0; i < 1_000; i++) backend.decide(attempt(`c${i}`), "consume");
    const walks = countMapWalks(() => {
      for (let i = 0; i < 10_000; i++) backend.decide(attempt(`new-${i}`), "consume");
    });
    // A fresh iterator skips every deleted entry ahead of the first live one: O(deleted) each.
    assert.equal(walks, 0);
  });
});
