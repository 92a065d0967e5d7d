import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import {
  type DecisionMode,
  type DecisionRequest,
  type Lock,
  ThrottleBackend,
} from "../../src/backend.js";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import {
  AnonymousConnection,
  BackendError,
  ConfigurationError,
  ConnectionThrottled,
  InvalidCost,
  TraffikError,
  TraffikException,
} from "../../src/errors.js";
import { HTTPThrottle, hitAll, tryHitAll, UNLIMITED, WebSocketThrottle } from "../../src/index.js";
import {
  FixedWindowStrategy,
  LeakyBucketWithQueueStrategy,
  type Step,
} from "../../src/strategies/index.js";

const req = (remoteAddress = "192.0.2.1", headers: Record<string, string> = {}) => ({
  socket: { remoteAddress },
  headers,
});

/** A clock that moves only when told: no decision here depends on when the test runs. */
function timeline() {
  let now = 0;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

/** An in-memory backend on a clock of its own, standing still unless `time` advances it. */
const backendOn = (time = timeline(), namespace = "t") =>
  new InMemoryBackend({ namespace, clock: time.clock });

/** A backend whose every decision fails, or never answers. */
class BrokenBackend extends ThrottleBackend {
  constructor(private readonly mode: "throw" | "hang") {
    super({ namespace: "broken", timeoutMs: 50 });
  }
  override decide(): Promise<Step> {
    return this.mode === "hang"
      ? new Promise<Step>(() => {})
      : Promise.reject(new Error("connection refused"));
  }
  get = async () => null;
  set = async () => {};
  delete = async () => {};
  lock = async (): Promise<Lock> => ({ release: async () => true });
  reset = async () => {};
}

describe("HTTPThrottle", () => {
  it("admits up to the limit, then throws ConnectionThrottled with Retry-After", async () => {
    const time = timeline();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.clock });
    const throttle = new HTTPThrottle({
      uid: "api",
      rate: "2/10s",
      backend,
      headers: { "X-Policy": "api" },
    });
    await throttle.hit(req());
    await throttle.hit(req());
    time.advance(1500);
    const error = await throttle.hit(req()).catch((e: unknown) => e);
    assert.ok(error instanceof ConnectionThrottled && error instanceof TraffikError);
    assert.equal(error.status, 429);
    assert.equal(error.waitMs, 8500);
    assert.equal(error.retryAfter, 9);
    assert.deepEqual(error.headers, { "X-Policy": "api", "Retry-After": "9" });
    assert.match(error.detail, /Retry in 9 seconds/);
    assert.equal(
      (await throttle.hit(req("192.0.2.2"))).allowed,
      true,
      "other clients are unaffected",
    );
    time.advance(8500);
    assert.equal((await throttle.hit(req())).allowed, true);
  });

  it("tryHit returns the decision instead of throwing; peek consumes nothing; reset forgets", async () => {
    const backend = backendOn();
    const throttle = new HTTPThrottle({ uid: "api", rate: "2/m", backend });
    assert.equal((await throttle.peek(req())).remaining, 1);
    assert.equal((await throttle.peek(req())).remaining, 1);
    await throttle.tryHit(req());
    await throttle.tryHit(req());
    const rejected = await throttle.tryHit(req());
    assert.equal(rejected.allowed, false);
    assert.equal(rejected.limit, 2);
    assert.equal(rejected.uid, "api");
    assert.equal(rejected.retryAfterMs, 60_000, "the whole window: no time has passed");
    await throttle.reset(req());
    assert.equal((await throttle.tryHit(req())).allowed, true);
  });

  it("raises the wait of throttled requests only to minWaitPeriod", async () => {
    const backend = backendOn();
    const throttle = new HTTPThrottle({ uid: "api", rate: "1/s", backend, minWaitPeriod: 5000 });
    const first = await throttle.hit(req());
    assert.equal(first.retryAfterMs, 0);
    await assert.rejects(
      throttle.hit(req()),
      (e: ConnectionThrottled) => e.waitMs === 5000 && e.retryAfter === 5,
    );
  });

  it("exempts connections whose identifier returns UNLIMITED", async () => {
    const backend = backendOn();
    const throttle = new HTTPThrottle({
      uid: "api",
      rate: "1/h",
      backend,
      identifier: (r) => (r.headers?.["x-role"] === "admin" ? UNLIMITED : "user"),
    });
    for (let i = 0; i < 5; i++)
      assert.equal((await throttle.hit(req("1.1.1.1", { "x-role": "admin" }))).source, "exempt");
    await throttle.hit(req());
    await assert.rejects(throttle.hit(req()), ConnectionThrottled);
    assert.equal(backend.size, 1);
  });

  it("needs an address or an identifier", async () => {
    const throttle = new HTTPThrottle({
      uid: "api",
      rate: "1/s",
      backend: backendOn(),
    });
    await assert.rejects(throttle.hit({ socket: {}, headers: {} }), AnonymousConnection);
    const bad = new HTTPThrottle<object>({
      uid: "bad",
      rate: "1/s",
      backend: backendOn(),
      identifier: () => 42 as unknown as string,
    });
    await assert.rejects(bad.hit({}), ConfigurationError);
  });

  it("stores oversized identities as a fixed-size hash", async () => {
    const backend = backendOn();
    const throttle = new HTTPThrottle<string>({
      uid: "api",
      rate: "1/h",
      backend,
      identifier: (s) => s,
    });
    const huge = "x".repeat(100_000);
    await throttle.hit(huge);
    await assert.rejects(throttle.hit(huge), ConnectionThrottled);
    await throttle.hit(`${huge}y`);
    assert.equal(backend.size, 2);
  });

  it("takes a cost per request, and rejects bad costs with InvalidCost", async () => {
    const backend = backendOn();
    const throttle = new HTTPThrottle({
      uid: "api",
      rate: "10/h",
      backend,
      cost: (r) => Number(r.headers?.["x-items"] ?? 1),
    });
    assert.equal((await throttle.hit(req("1.1.1.1", { "x-items": "7" }))).remaining, 3);
    assert.equal((await throttle.hit(req("1.1.1.1"), { cost: 3 })).remaining, 0);
    for (const cost of [-1, 1.5, Number.NaN]) {
      await assert.rejects(
        throttle.hit(req(), { cost }),
        (e: InvalidCost) => e.code === "ERR_TRAFFIK_INVALID_COST",
      );
    }
    await assert.rejects(
      throttle.hit(req(), { cost: 11 }),
      (e: InvalidCost) =>
        e.code === "ERR_TRAFFIK_COST_EXCEEDS_CAPACITY" &&
        e.capacity === 10 &&
        /never be admitted/.test(e.message),
    );
    assert.throws(() => new HTTPThrottle({ uid: "x", rate: "1/s", cost: -2 }), InvalidCost);
    assert.equal(
      (await throttle.hit(req("9.9.9.9"), { cost: 0 })).remaining,
      10,
      "cost 0 counts nothing",
    );
  });

  it("never answers with an infinite wait, even from a strategy that misstates its capacity", async () => {
    const backend = backendOn();
    const inner = new FixedWindowStrategy();
    const boastful = { name: "boastful", capacity: () => 1000, apply: inner.apply.bind(inner) };
    const throttle = new HTTPThrottle({ uid: "b", rate: "2/s", backend, strategy: boastful });
    await assert.rejects(throttle.hit(req(), { cost: 3 }), InvalidCost);
  });

  it("resolves its backend at every call: its own, else the one installed for the call", async () => {
    const a = backendOn(timeline(), "a");
    const b = backendOn(timeline(), "b");
    const own = backendOn(timeline(), "own");
    const shared = new HTTPThrottle({ uid: "shared", rate: "1/h" });
    const mine = new HTTPThrottle({ uid: "mine", rate: "1/h", backend: own });
    const tenant = new HTTPThrottle({
      uid: "tenant",
      rate: "1/h",
      backend: own,
      dynamicBackend: true,
    });
    await assert.rejects(shared.hit(req()), (e: ConfigurationError) =>
      /backend\.run/.test(e.message),
    );
    await a.run(() => shared.hit(req()));
    // It follows the backend installed for each call: it counts from zero on b.
    await b.run(() => shared.hit(req()));
    await a.run(() => assert.rejects(shared.hit(req()), ConnectionThrottled));
    // Its own backend serves it wherever it runs; a dynamic one lets an installed backend win.
    await a.run(() => mine.hit(req()));
    await b.run(() => tenant.hit(req()));
    await tenant.hit(req()); // none installed: its own
    assert.deepEqual([a.size, b.size, own.size], [1, 2, 2]);
  });

  it("never uses a closed backend: a clear ConfigurationError, not an outage", async () => {
    const first = backendOn(timeline(), "first");
    const shared = new HTTPThrottle({ uid: "shared", rate: "1/h", onError: "allow" });
    const mine = new HTTPThrottle({ uid: "mine", rate: "1/h", backend: first, onError: "allow" });
    await first.run(() => shared.hit(req()));
    await first.close();
    for (const hit of [() => first.run(() => shared.hit(req())), () => mine.hit(req())]) {
      await assert.rejects(
        hit(),
        (e: ConfigurationError) =>
          e instanceof ConfigurationError && /"first" is closed/.test(e.message),
      );
    }
    const second = backendOn(timeline(), "second");
    assert.equal((await second.run(() => shared.hit(req()))).remaining, 0);
  });

  it("refuses two throttles with one uid on one backend", async () => {
    const backend = backendOn();
    new HTTPThrottle({ uid: "same", rate: "1/s", backend });
    assert.throws(
      () => new HTTPThrottle({ uid: "same", rate: "1/s", backend }),
      ConfigurationError,
    );
    assert.throws(() => new HTTPThrottle({ uid: "has space", rate: "1/s" }), ConfigurationError);
  });

  it("onError decides when the backend fails or hangs, within the timeout", async () => {
    for (const mode of ["throw", "hang"] as const) {
      const backend = new BrokenBackend(mode);
      const allow = new HTTPThrottle({ uid: "allow", rate: "1/s", backend, onError: "allow" });
      // A hanging backend never answers: only the deadline can decide this request.
      const allowed = await allow.hit(req());
      assert.deepEqual([allowed.allowed, allowed.source], [true, "error"]);
      const closed = new HTTPThrottle({ uid: "closed", rate: "1/s", backend, onError: "throttle" });
      await assert.rejects(closed.hit(req()), (e: ConnectionThrottled) => e.retryAfter === 1);
      const raise = new HTTPThrottle({ uid: "raise", rate: "1/s", backend, onError: "raise" });
      await assert.rejects(
        raise.hit(req()),
        (e: BackendError) =>
          (e instanceof TraffikException && e.cause !== undefined) || mode === "hang",
      );
      const seen: BackendError[] = [];
      const custom = new HTTPThrottle({
        uid: "custom",
        rate: "1/s",
        backend,
        onError: (error) => {
          seen.push(error);
          return "throttle";
        },
      });
      assert.equal((await custom.tryHit(req())).allowed, false);
      assert.ok(seen[0] instanceof BackendError);
    }
  });

  it("a group whose backend fails to initialize is decided by each onError, as a lone throttle is", async (t) => {
    t.mock.method(process, "emitWarning", () => {});
    class Unreachable extends InMemoryBackend {
      override async initialize(): Promise<void> {
        throw new BackendError("The server is unreachable.");
      }
    }
    const backend = new Unreachable({ namespace: "unreachable" });
    const allow = new HTTPThrottle({ uid: "g-allow", rate: "1/s", backend, onError: "allow" });
    const deny = new HTTPThrottle({ uid: "g-deny", rate: "1/s", backend, onError: "throttle" });
    assert.equal((await allow.tryHit(req())).source, "error");
    const decisions = await tryHitAll([allow, deny], req());
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.source]),
      [
        [true, "error"],
        [false, "error"],
      ],
    );
    await assert.rejects(hitAll([allow, deny], req()), ConnectionThrottled);
  });

  it("warns once per outage, even when the backend fails only now and then", async (t) => {
    t.mock.timers.enable({ apis: ["Date"], now: 1_000_000 });
    const warnings: string[] = [];
    const listen = (warning: Error & { code?: string }) => {
      if (warning.code === "TRAFFIK_BACKEND_OUTAGE") warnings.push(warning.message);
    };
    process.on("warning", listen);
    t.after(() => process.off("warning", listen));
    let calls = 0;
    // A partial outage: every other call fails, as with one Cluster master down of several.
    class FlakyBackend extends InMemoryBackend {
      override decideThen<R>(
        request: DecisionRequest,
        mode: DecisionMode,
        map: (step: Step) => R,
        recover: (error: unknown) => R | Promise<R>,
      ): R | Promise<R> {
        if (calls++ % 2 === 0) return recover(new Error("node down"));
        return super.decideThen(request, mode, map, recover);
      }
    }
    const flaky = new FlakyBackend({ namespace: "flaky", clock: () => 0 });
    const throttle = new HTTPThrottle({
      uid: "flaky",
      rate: "100/s",
      backend: flaky,
      onError: "allow",
    });
    for (let i = 0; i < 20; i++) await throttle.tryHit(req(`192.0.2.${i}`));
    t.mock.timers.tick(4_000);
    for (let i = 0; i < 20; i++) await throttle.tryHit(req(`192.0.2.${i}`));
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    assert.equal(warnings.length, 1, "one outage, one warning");
    // Quiet for longer than the outage's end: the next failure is a new outage.
    t.mock.timers.tick(6_000);
    calls = 1;
    await throttle.tryHit(req()); // answered: the outage ends
    await throttle.tryHit(req()); // fails: a new one begins
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.length, 2);
  });

  it("awaits a queueing delay, and gives it up when aborted", async (t) => {
    // Timers that run only when the test says: a busy machine cannot make the wait end early.
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const backend = backendOn();
    const throttle = new HTTPThrottle({
      uid: "q",
      rate: "20/s",
      backend,
      strategy: new LeakyBucketWithQueueStrategy({ queueSize: 5 }),
    });
    await throttle.hit(req());
    let answered = false;
    const pending = throttle.hit(req()).finally(() => (answered = true));
    await yieldToLoop();
    assert.equal(answered, false, "the request waits its turn");
    t.mock.timers.tick(49);
    await yieldToLoop();
    assert.equal(answered, false, "and no less than its turn");
    t.mock.timers.tick(1);
    assert.equal((await pending).delayMs, 50, "one place behind, at 20 per second");
    const controller = new AbortController();
    const aborted = throttle.hit(req(), { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, { name: "AbortError" });
  });
});

describe("hitAll", () => {
  it("applies several throttles all or nothing and reports the longest wait", async () => {
    const time = timeline();
    const backend = new InMemoryBackend({ namespace: "t", clock: time.clock });
    const burst = new HTTPThrottle({ uid: "burst", rate: "2/s", backend });
    const sustained = new HTTPThrottle({ uid: "sustained", rate: "3/m", backend });
    await hitAll([burst, sustained], req());
    await hitAll([burst, sustained], req());
    const error = await hitAll([burst, sustained], req()).catch((e: ConnectionThrottled) => e);
    assert.ok(error instanceof ConnectionThrottled);
    assert.equal(error.waitMs, 1000);
    time.advance(1000);
    await hitAll([burst, sustained], req());
    const second = await hitAll([burst, sustained], req()).catch((e: ConnectionThrottled) => e);
    assert.ok(second instanceof ConnectionThrottled);
    assert.equal(second.waitMs, 59_000, "the longest wait among the rejections");
    assert.equal(
      (await burst.peek(req())).remaining,
      0,
      "burst kept its one admitted unit, no more",
    );
  });

  it("requires one backend", async () => {
    const one = new HTTPThrottle({
      uid: "one",
      rate: "1/s",
      backend: backendOn(timeline(), "a"),
    });
    const two = new HTTPThrottle({
      uid: "two",
      rate: "1/s",
      backend: backendOn(timeline(), "b"),
    });
    await assert.rejects(hitAll([one, two], req()), ConfigurationError);
  });
});

describe("WebSocketThrottle", () => {
  it("speaks of messages", async () => {
    const throttle = new WebSocketThrottle({
      uid: "ws",
      rate: "1/s",
      backend: backendOn(),
    });
    await throttle.hit(req());
    await assert.rejects(throttle.hit(req()), (e: ConnectionThrottled) =>
      /Too many messages/.test(e.detail),
    );
  });
});
