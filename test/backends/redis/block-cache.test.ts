import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BlockCache } from "../../../src/backends/redis/block-cache.js";
import { countMapWalks } from "../inmemory-support.js";

describe("Redis block cache", () => {
  it("drops the least recently blocked key when full, and a key blocked again is young", () => {
    const cache = new BlockCache(3);
    for (const key of ["a", "b", "c"]) cache.block(key, 1, 1_000, 0);
    cache.block("a", 1, 1_000, 0);
    cache.block("d", 1, 1_000, 0);
    assert.equal(cache.waitFor("b", 1, 0), undefined, "b was the oldest");
    for (const key of ["a", "c", "d"]) assert.equal(cache.waitFor(key, 1, 0), 1_000, key);
    cache.block("e", 1, 1_000, 0);
    assert.equal(cache.waitFor("c", 1, 0), undefined, "then c");
    cache.clear();
    for (const key of ["x", "y", "z", "w"]) cache.block(key, 1, 1_000, 0);
    assert.equal(cache.waitFor("x", 1, 0), undefined, "after clear, the oldest again");
    assert.equal(cache.waitFor("w", 1, 0), 1_000);
  });

  it("evicts without starting a walk of its Map each time", () => {
    const cache = new BlockCache(1_000);
    for (let i = 0; i < 1_000; i++) cache.block(`k${i}`, 1, 60_000, 0);
    const walks = countMapWalks(() => {
      for (let i = 0; i < 10_000; i++) cache.block(`new-${i}`, 1, 60_000, 0);
    });
    // One walk goes on across every eviction.
    assert.ok(walks <= 1, `${walks} walks for 10 000 evictions`);
    assert.equal(cache.waitFor("new-9999", 1, 0), 60_000);
    assert.equal(cache.waitFor("new-8999", 1, 0), undefined);
  });
});
