/**
 * `skip`, `allowList` and `denyList` on a throttle: exempt connections are not counted and get
 * no decision event; denied ones are refused before the identifier, the cost or the backend.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { ConfigurationError, ConnectionDenied, ConnectionThrottled } from "../../src/errors.js";
import {
  CHANNELS,
  type DecisionEvent,
  HTTPThrottle,
  hitAll,
  WebSocketThrottle,
} from "../../src/index.js";
import { record } from "../events/support.js";

const req = (remoteAddress: string) => ({ socket: { remoteAddress }, headers: {} });
const stillClock = () => 0;

describe("skip, allowList and denyList on a throttle", () => {
  it("skip exempts a connection: not counted, exempt decision, no event", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    const decisions = record<DecisionEvent>(CHANNELS.decision);
    try {
      const throttle = new HTTPThrottle<{ id: string; admin?: boolean }>({
        uid: "skip",
        rate: "1/h",
        backend,
        identifier: (c) => c.id,
        skip: (c) => c.admin === true,
      });
      for (let i = 0; i < 3; i++) {
        const decision = await throttle.hit({ id: "a", admin: true });
        assert.equal(decision.source, "exempt");
      }
      assert.equal(decisions.events.length, 0);
      await throttle.hit({ id: "a" });
      await assert.rejects(throttle.hit({ id: "a" }), ConnectionThrottled);
    } finally {
      decisions.stop();
      await backend.close();
    }
  });

  it("an async skip is awaited; only true exempts", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    try {
      let answer: unknown = true;
      const throttle = new HTTPThrottle<string>({
        uid: "skip-async",
        rate: "1/h",
        backend,
        identifier: (id) => id,
        skip: async () => answer as boolean,
      });
      assert.equal((await throttle.hit("b")).source, "exempt");
      answer = "yes";
      assert.equal((await throttle.hit("b")).source, "backend");
      await assert.rejects(throttle.hit("b"), ConnectionThrottled);
    } finally {
      await backend.close();
    }
  });

  it("allowList exempts matching addresses, IPv4-mapped ones included", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    try {
      const throttle = new HTTPThrottle({
        uid: "allow",
        rate: "1/h",
        backend,
        allowList: ["10.0.0.0/8", "2001:db8::/48"],
      });
      for (const address of ["10.1.2.3", "::ffff:10.1.2.3", "2001:db8:0:1::5"]) {
        for (let i = 0; i < 2; i++)
          assert.equal((await throttle.hit(req(address))).source, "exempt");
      }
      await throttle.hit(req("192.0.2.1"));
      await assert.rejects(throttle.hit(req("192.0.2.1")), ConnectionThrottled);
    } finally {
      await backend.close();
    }
  });

  it("denyList refuses with ConnectionDenied before the identifier, the cost or the backend", async () => {
    let identified = 0;
    let costed = 0;
    const throttle = new WebSocketThrottle({
      uid: "deny",
      rate: "100/s",
      // No backend at all: a denied connection never needs one.
      identifier: () => {
        identified++;
        return "x";
      },
      cost: () => {
        costed++;
        return 1;
      },
      denyList: ["198.51.100.0/24", "2001:db8::1"],
    });
    for (const address of ["198.51.100.9", "::ffff:198.51.100.9", "2001:db8::1", "2001:DB8:0::1"]) {
      await assert.rejects(throttle.hit(req(address)), (error: unknown) => {
        assert.ok(error instanceof ConnectionDenied);
        assert.equal(error.status, 403);
        assert.equal(error.code, "ERR_TRAFFIK_DENIED");
        assert.deepEqual(error.headers, {});
        return true;
      });
      await assert.rejects(throttle.tryHit(req(address)), ConnectionDenied);
    }
    assert.deepEqual([identified, costed], [0, 0]);
  });

  it("denies an address on both lists, and denies a whole group", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    try {
      const both = new HTTPThrottle({
        uid: "both",
        rate: "5/h",
        backend,
        allowList: ["203.0.113.0/24"],
        denyList: ["203.0.113.66"],
      });
      const plain = new HTTPThrottle({ uid: "plain", rate: "5/h", backend });
      await assert.rejects(both.hit(req("203.0.113.66")), ConnectionDenied);
      await assert.rejects(hitAll([plain, both], req("203.0.113.66")), ConnectionDenied);
      assert.equal(
        (await plain.peek(req("203.0.113.66"))).remaining,
        4,
        "the group charged no one",
      );
      assert.equal((await both.hit(req("203.0.113.1"))).source, "exempt");
    } finally {
      await backend.close();
    }
  });

  it("a skip cannot let a denied address in", async () => {
    const throttle = new HTTPThrottle({
      uid: "deny-first",
      rate: "1/s",
      skip: () => true,
      denyList: ["192.0.2.1"],
    });
    await assert.rejects(throttle.hit(req("192.0.2.1")), ConnectionDenied);
  });

  it("rejects bad options at construction, naming the entry", () => {
    assert.throws(
      () => new HTTPThrottle({ uid: "bad", rate: "1/s", denyList: ["10.0.0.0/8", "10.0.0.0/40"] }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.message.includes('Throttle "bad": denyList') &&
        error.message.includes('"10.0.0.0/40"'),
    );
    assert.throws(
      () => new HTTPThrottle({ uid: "bad", rate: "1/s", allowList: ["nope"] }),
      /allowList: "nope"/,
    );
    assert.throws(
      () => new HTTPThrottle({ uid: "bad", rate: "1/s", skip: true as unknown as () => boolean }),
      /skip must be a function/,
    );
    assert.throws(
      () => new HTTPThrottle({ uid: "bad", rate: "1/s", denylist: [] } as never),
      /denyList/,
    );
  });
});
