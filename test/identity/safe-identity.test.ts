import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { ConnectionThrottled } from "../../src/errors.js";
import { MAX_IDENTITY_LENGTH, safeIdentity } from "../../src/identity/safe-identity.js";
import { HTTPThrottle } from "../../src/index.js";
import {
  hasBinary,
  type MemcachedServer,
  type RedisServer,
  startMemcached,
  startRedis,
} from "../support/servers.js";

const LONG = "k".repeat(MAX_IDENTITY_LENGTH + 1);

/** Pairs of distinct identities that once shared a bucket. */
const ONCE_COLLIDING: readonly (readonly [string, string])[] = [
  // A short identity spelled as the old hashed form of a long one.
  [LONG, `#${createHash("sha256").update(LONG).digest("base64url")}`],
  // Lone surrogates: both became U+FFFD, the same three bytes, on their way to a server.
  ["\uD800", "\uDC00"],
  ["a\uD800b", "a\uDBFFb"],
];

/** The bytes a Redis or Memcached client sends for a stored identity. */
const wireBytes = (identity: string): string =>
  Buffer.from(safeIdentity(identity), "utf8").toString("hex");

// Code units chosen to hit every rule: prefixes, the escape, lone and paired surrogates.
const codeUnit = fc.oneof(
  fc.constantFrom("#", "~", "\\", "u", "d", "8", "0", "\uD800", "\uDC00", "\uDBFF", "🙂", "k"),
  fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
);
const identity = fc.oneof(
  fc.string({ unit: codeUnit, maxLength: 12 }),
  fc.string({
    unit: codeUnit,
    minLength: MAX_IDENTITY_LENGTH - 8,
    maxLength: MAX_IDENTITY_LENGTH + 8,
  }),
);

describe("safeIdentity", () => {
  it("gives distinct identities distinct bytes on the wire", () => {
    fc.assert(
      fc.property(identity, identity, (a, b) => {
        fc.pre(a !== b);
        assert.notEqual(wireBytes(a), wireBytes(b));
      }),
      { numRuns: 5000 },
    );
    for (const [a, b] of ONCE_COLLIDING) assert.notEqual(wireBytes(a), wireBytes(b));
  });

  it("returns well-formed text of bounded length, and plain identities as they are", () => {
    fc.assert(
      fc.property(identity, (raw) => {
        const stored = safeIdentity(raw);
        assert.equal(Buffer.from(stored, "utf8").toString("utf8"), stored, "well-formed");
        assert.ok(stored.length <= MAX_IDENTITY_LENGTH);
      }),
      { numRuns: 2000 },
    );
    for (const plain of ["192.0.2.1", "2001:db8:0:0:0:0:0:0/56", "user:42", "é🙂", "a#b"]) {
      assert.equal(safeIdentity(plain), plain);
    }
  });
});

/** Each once-colliding pair, at a limit of 1/h: the second of a pair must still be admitted. */
async function assertCountedApart(backend: ThrottleBackend): Promise<void> {
  const throttle = new HTTPThrottle<string>({
    uid: "apart",
    rate: "1/h",
    backend,
    identifier: (raw) => raw,
  });
  for (const [a, b] of ONCE_COLLIDING) {
    await throttle.hit(a);
    await throttle.hit(b).catch((error: unknown) => {
      assert.ok(error instanceof ConnectionThrottled);
      assert.fail(
        `${JSON.stringify(b).slice(0, 30)} shared the bucket of ${JSON.stringify(a).slice(0, 30)}`,
      );
    });
    await assert.rejects(throttle.hit(a), ConnectionThrottled);
    await assert.rejects(throttle.hit(b), ConnectionThrottled);
  }
}

describe("stored identities on a real redis-server", { skip: !hasBinary("redis-server") }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server.stop());

  it("count once-colliding identities apart", async (t) => {
    const backend = new RedisBackend({ connection: server.url, namespace: "apart" });
    t.after(() => backend.close());
    await assertCountedApart(backend);
  });
});

describe("stored identities on a real memcached", { skip: !hasBinary("memcached") }, () => {
  let server: MemcachedServer;
  before(async () => {
    server = await startMemcached();
  });
  after(() => server.stop());

  it("count once-colliding identities apart", async (t) => {
    const backend = new MemcachedBackend({ servers: [server.address], namespace: "apart" });
    t.after(() => backend.close());
    await backend.initialize();
    await assertCountedApart(backend);
  });
});
