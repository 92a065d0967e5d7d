import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { ConfigurationError } from "../../src/errors.js";
import { Rate } from "../../src/index.js";
import { FixedWindowStrategy, SlidingWindowLogStrategy } from "../../src/strategies/index.js";
import { collectWarnings } from "./inmemory-support.js";

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const log = new SlidingWindowLogStrategy();
const busy = Rate.parse("1000/h");
const request = (identity: string) => ({
  uid: "api",
  identity,
  strategy: log,
  rate: busy,
  cost: 1,
});

/** The bytes one client's log of `requests` is estimated at. */
function logBytes(requests: number): number {
  const time = clock();
  const backend = new InMemoryBackend({ namespace: "probe", clock: time.now });
  for (let i = 0; i < requests; i++) {
    time.advance(1);
    backend.decide(request("c0"), "consume");
  }
  return backend.bytes;
}

describe("InMemoryBackend memory budget", () => {
  it("bounds the sliding log's memory in bytes, not only in keys", () => {
    const time = clock();
    // A log of 999 requests is ~20 kB: this budget holds four of them.
    const maxBytes = Math.floor(4.5 * logBytes(999));
    const backend = new InMemoryBackend({
      namespace: "t",
      clock: time.now,
      maxKeys: 1_000,
      maxBytes,
    });
    after(() => backend.close());
    collectWarnings(() => {
      for (let client = 0; client < 10; client++) {
        for (let i = 0; i < 999; i++) {
          time.advance(1);
          backend.decide(request(`c${client}`), "consume");
        }
        assert.ok(backend.bytes <= maxBytes, `${backend.bytes} bytes held`);
      }
    });
    assert.equal(backend.size, 4);
    assert.equal(backend.decide(request("c9"), "peek").remaining, 0, "the newest log was kept");
    assert.equal(backend.decide(request("c0"), "peek").remaining, 999, "the oldest was evicted");
  });

  it("evicts by the same order for bytes as for keys: a throttled log is the last to go", () => {
    const time = clock();
    const maxBytes = Math.floor(4.5 * logBytes(999));
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now, maxBytes });
    after(() => backend.close());
    collectWarnings(() => {
      for (let i = 0; i < 1000; i++) backend.decide(request("victim"), "consume");
      assert.equal(backend.decide(request("victim"), "consume").allowed, false);
      for (let client = 0; client < 20; client++) {
        for (let i = 0; i < 500; i++) {
          time.advance(1);
          backend.decide(request(`c${client}`), "consume");
        }
      }
    });
    assert.ok(backend.size < 21, "the budget made room");
    assert.equal(backend.decide(request("victim"), "consume").allowed, false, "still throttled");
  });

  it("counts what it holds and gives it back on clear, sweep and reset", async () => {
    const time = clock();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.now });
    after(() => backend.close());
    const fixed = { ...request("a"), strategy: new FixedWindowStrategy(), rate: Rate.parse("5/s") };
    assert.equal(backend.bytes, 0);
    backend.decide(fixed, "consume");
    const one = backend.bytes;
    assert.ok(one > 0);
    backend.decide({ ...fixed, identity: "b" }, "consume");
    backend.decide(request("c"), "consume");
    backend.decide(request("c"), "consume");
    assert.ok(backend.bytes > 2 * one, "a log of two requests weighs more than a counter");
    await backend.clear("api", "b");
    time.advance(1_000);
    backend.sweep();
    assert.equal(backend.size, 1);
    await backend.reset();
    assert.equal(backend.bytes, 0);
  });

  it("rejects a budget that is not a positive whole number", () => {
    for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new InMemoryBackend({ maxBytes }), ConfigurationError);
    }
  });
});
