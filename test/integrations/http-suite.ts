/**
 * The behaviour every HTTP integration must show, run against a real server of each framework
 * on a loopback port with a real HTTP client. Each framework's test builds the same app (the
 * routes below) in its own idiom and hands it to {@link httpSuite}.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseDictionary, parseList } from "structured-headers";
import {
  type DecisionEvent,
  HTTPThrottle,
  type Identifier,
  type ThrottledEvent,
  type ThrottledHandler,
} from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ConnectionThrottled } from "traffik/errors";
import type { IntegrationOptions, RateLimitDecision } from "traffik/express";
import { SlidingWindowLogStrategy } from "traffik/strategies";

/** The throttles of the suite's app; `C` is the framework's connection type. */
export function suiteThrottles<C>(nativeError: ThrottledHandler<C>) {
  // A sliding log, not the clock-aligned fixed window, so no test straddles a window boundary
  // and every admitted response says t=60.
  const strategy = new SlidingWindowLogStrategy();
  const make = (
    uid: string,
    rate: string,
    more: Partial<ConstructorParameters<typeof HTTPThrottle<C>>[0]> = {},
  ) => new HTTPThrottle<C>({ uid, rate, strategy, ...more });
  return {
    single: make("single", "3/m"),
    pairShort: make("pair-short", "2/m"),
    pairLong: make("pair-long", "3/m"),
    draft7: make("draft7", "2/m"),
    draft6: make("draft6", "2/m"),
    legacy: make("legacy", "2/m"),
    none: make("none", "1/m"),
    errorMode: make("error-mode", "1/m"),
    native: make("native", "1/m", { handleThrottled: nativeError }),
    shadow: make("shadow", "1/m", { handleThrottled: () => undefined }),
    broken: make("broken", "1/m", {
      identifier: (() => {
        throw new Error("identifier exploded");
      }) as Identifier<C>,
    }),
    manual: make("manual", "1/m"),
    spoof: make("spoof", "2/m"),
    prefix: make("mw-prefix", "2/m"),
    pattern: make("mw-pattern", "2/m"),
    methods: make("mw-methods", "1/m"),
    hooked: make("mw-hooked", "1/m"),
    orderFirst: make("mw-order-first", "5/m"),
    orderSecond: make("mw-order-second", "1/m"),
    tenant: make("tenant", "2/m", { dynamicBackend: true }),
    watch: make("watch", "1/m", { mode: "shadow" }),
    watchGate: make("watch-gate", "2/m"),
    watchTight: make("watch-tight", "1/m", { mode: "shadow" }),
    denied: make("denied", "5/m", { denyList: ["127.0.0.0/8", "::1"] }),
    allowed: make("allowed", "1/m", { allowList: ["127.0.0.1", "::1"] }),
    decisionApp: make("decision-app", "5/m"),
    decisionRoute: make("decision-route", "2/m"),
    messageText: make("message-text", "1/m"),
    messageObject: make("message-object", "1/m"),
    messageFn: make("message-fn", "1/m"),
    messageThrows: make("message-throws", "1/m"),
    errorStatus: make("error-status", "1/m"),
  };
}

/** The options of the suite's `message` and `statusCode` routes. */
export function suiteOptions<C>() {
  return {
    messageText: { message: "slow down", statusCode: 503 },
    messageObject: { message: { error: "limited" } },
    messageFn: {
      // Async, and reading the decision it is given.
      message: async (connection: C, decision: RateLimitDecision) => ({
        uid: decision.policy.uid,
        remaining: decision.remaining,
        waitKnown: decision.retryAfterMs > 0,
        sawRequest: typeof connection === "object" && connection !== null,
      }),
    },
    messageThrows: {
      message: () => {
        throw new Error("message exploded");
      },
    },
    errorStatus: { respondWith: "error", statusCode: 503 },
  } satisfies Record<string, IntegrationOptions<C>>;
}

/** What the suite's `/decision` and `/undecided` handlers answer: the decision they read. */
export function describeDecision(decision: RateLimitDecision | undefined) {
  if (decision === undefined) return { decision: null };
  const { allowed, limit, remaining, retryAfterMs, resetAfterMs, policy } = decision;
  return {
    decision: {
      allowed,
      limit,
      remaining,
      retryAfterMs,
      resetAfterMs,
      resetAt: decision.resetAt.getTime(),
      policy: { uid: policy.uid, rate: String(policy.rate), strategy: policy.strategy },
      decisions: decision.decisions.map((d) => [d.uid, d.allowed, d.remaining]),
    },
  };
}

export type SuiteThrottles<C> = ReturnType<typeof suiteThrottles<C>>;

/**
 * The app each framework builds:
 * - `ThrottleMiddleware({ backend, middlewareThrottles })` with, in this order:
 *   prefix on path "/mw/prefix/", pattern on /^\/mw\/re\/\d+$/, methods ["post", "Put"] on path
 *   "/mw/methods", hooked (hook: header `x-hooked: yes`) on path "/mw/hooked", orderFirst then
 *   orderSecond on path "/mw/order"; every /mw/... route answers 200 "ok".
 * - `GET /single` throttled(single); `GET /pair` throttled(pairShort, pairLong);
 *   `GET /draft7|/draft6|/legacy|/none` throttled({ headers: format }, throttle);
 *   `GET /error-mode` throttled({ respondWith: "error" }, errorMode), and an app error handler
 *   that answers a `ConnectionThrottled` with its status, its headers, `x-handled-by: app` and
 *   `{ "custom": true }`; `GET /native` throttled(native), whose handler throws the framework's
 *   own 503 error; `GET /shadow` throttled(shadow); `GET /broken` throttled(broken);
 *   `GET /manual` calls `await manual.hit(connection)` in the handler (the installed backend);
 *   `GET /spoof` throttled(spoof).
 * - `GET /tenant`: a middleware before it runs the rest of the request inside
 *   `tenants[header "x-tenant"].run(...)`, and the route is throttled(tenant).
 * - `GET /watch` throttled(watch); `GET /watch-pair` throttled(watchGate, watchTight);
 *   `GET /denied` throttled(denied); `GET /allowed` throttled(allowed).
 * - The middleware takes `...appHooks` among its options, and applies decisionApp on path
 *   "/decision" (after the others); `GET /decision` throttled(decisionRoute) and
 *   `GET /undecided` (no throttle) answer `describeDecision(the framework's traffik field)`.
 * - `GET /message-text|/message-object|/message-fn|/message-throws|/error-status`
 *   throttled(options.X, X), X the route's name in camelCase.
 */
export interface SuiteApp {
  url: string;
  close(): Promise<void>;
}

export interface SuiteContext<C> {
  throttles: SuiteThrottles<C>;
  options: ReturnType<typeof suiteOptions<C>>;
  backend: InMemoryBackend;
  tenants: Record<string, InMemoryBackend>;
  /** The app's hooks, for its `ThrottleMiddleware`. */
  appHooks: {
    onDecision: (event: DecisionEvent) => void;
    onThrottled: (event: ThrottledEvent) => void;
  };
  /** What the app's hooks saw. */
  appEvents: { decisions: DecisionEvent[]; throttled: ThrottledEvent[] };
}

export function httpSuite<C>(
  name: string,
  nativeError: ThrottledHandler<C>,
  start: (context: SuiteContext<C>) => Promise<SuiteApp>,
): void {
  describe(`${name}: the shared HTTP behaviour`, () => {
    const appEvents: SuiteContext<C>["appEvents"] = { decisions: [], throttled: [] };
    const context: SuiteContext<C> = {
      throttles: suiteThrottles<C>(nativeError),
      options: suiteOptions<C>(),
      appHooks: {
        onDecision: (event) => appEvents.decisions.push(event),
        onThrottled: (event) => appEvents.throttled.push(event),
      },
      appEvents,
      backend: new InMemoryBackend({ namespace: "suite" }),
      tenants: {
        a: new InMemoryBackend({ namespace: "tenant-a" }),
        b: new InMemoryBackend({ namespace: "tenant-b" }),
      },
    };
    let app: SuiteApp;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    const get = (path: string, init?: RequestInit) => fetch(`${app.url}${path}`, init);

    before(async () => {
      process.on("unhandledRejection", onUnhandled);
      app = await start(context);
    });
    after(async () => {
      await app.close();
      process.off("unhandledRejection", onUnhandled);
      assert.deepEqual(unhandled, [], "no unhandled rejection");
    });

    it("admits up to the limit with RateLimit headers, then answers 429 with Retry-After and JSON", async () => {
      for (let r = 2; r >= 0; r--) {
        const response = await get("/single");
        assert.equal(response.status, 200);
        assert.deepEqual(serviceLimits(response), { single: { r, t: 60 } });
        assert.deepEqual(policies(response), { single: { q: 3, w: 60 } });
      }
      const throttled = await get("/single");
      assert.equal(throttled.status, 429);
      const retryAfter = Number(throttled.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      assert.match(throttled.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await throttled.json(), {
        detail: `Too many requests. Retry in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`,
        retryAfter,
      });
      const limits = serviceLimits(throttled);
      assert.equal(limits.single?.r, 0);
      assert.ok(Number(limits.single?.t) <= retryAfter, "t never points past Retry-After");
    });

    it("applies a route's throttles all or nothing, one header item per throttle", async () => {
      const seen = [];
      for (let n = 0; n < 4; n++) {
        const response = await get("/pair");
        seen.push([response.status, remainingOf(response)]);
      }
      assert.deepEqual(seen, [
        [200, { "pair-short": 1, "pair-long": 2 }],
        [200, { "pair-short": 0, "pair-long": 1 }],
        // Rejected by the short throttle: the long one did not count it either.
        [429, { "pair-short": 0, "pair-long": 1 }],
        [429, { "pair-short": 0, "pair-long": 1 }],
      ]);
    });

    it("switches header formats per route: draft-7, draft-6, legacy, none", async () => {
      const d7 = await get("/draft7");
      const dictionary = parseDictionary(d7.headers.get("ratelimit") ?? "");
      assert.deepEqual(
        [...dictionary].map(([key, [value]]) => [key, value]),
        [
          ["limit", 2],
          ["remaining", 1],
          ["reset", 60],
        ],
      );
      assert.deepEqual(
        parseList(d7.headers.get("ratelimit-policy") ?? "").map(([q, p]) => [q, p.get("w")]),
        [[2, 60]],
      );

      const d6 = await get("/draft6");
      assert.equal(d6.headers.get("ratelimit-limit"), "2");
      assert.equal(d6.headers.get("ratelimit-remaining"), "1");
      assert.equal(d6.headers.get("ratelimit-reset"), "60");
      assert.equal(d6.headers.get("ratelimit"), null);

      // The server stamped the reset some time between these two readings, however far apart
      // a loaded machine puts them.
      const earliest = Math.floor(Date.now() / 1000);
      const legacy = await get("/legacy");
      const latest = Math.ceil(Date.now() / 1000);
      assert.equal(legacy.headers.get("x-ratelimit-limit"), "2");
      assert.equal(legacy.headers.get("x-ratelimit-remaining"), "1");
      const reset = Number(legacy.headers.get("x-ratelimit-reset"));
      assert.ok(reset >= earliest + 60 && reset <= latest + 61, `X-RateLimit-Reset ${reset}`);

      const none = await get("/none");
      assert.equal(none.headers.get("ratelimit"), null);
      assert.equal(none.headers.get("ratelimit-policy"), null);
      const noneThrottled = await get("/none");
      assert.equal(noneThrottled.status, 429);
      assert.ok(noneThrottled.headers.get("retry-after"), "Retry-After is always sent");
      assert.equal(noneThrottled.headers.get("ratelimit"), null);
    });

    it("hands ConnectionThrottled to the framework's error handling when told to", async () => {
      assert.equal((await get("/error-mode")).status, 200);
      const response = await get("/error-mode");
      assert.equal(response.status, 429);
      assert.equal(response.headers.get("x-handled-by"), "app");
      assert.ok(Number(response.headers.get("retry-after")) >= 1);
      assert.equal(serviceLimits(response)["error-mode"]?.r, 0, "the error carries the headers");
      assert.deepEqual(await response.json(), { custom: true });
    });

    it("lets handleThrottled throw the framework's own error, or let the request through", async () => {
      assert.equal((await get("/native")).status, 200);
      assert.equal((await get("/native")).status, 503);
      assert.equal((await get("/shadow")).status, 200);
      const shadowed = await get("/shadow");
      assert.equal(shadowed.status, 200, "a handler that returns lets the request through");
      assert.equal(serviceLimits(shadowed).shadow?.r, 0);
    });

    it("shadow mode: never rejects, shows no limit; in a route's group the enforcing throttle decides", async () => {
      for (let n = 0; n < 3; n++) {
        const response = await get("/watch");
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("ratelimit"), null, "a shadow limit is not advertised");
      }
      const seen = [];
      for (let n = 0; n < 3; n++) {
        const response = await get("/watch-pair");
        seen.push([response.status, remainingOf(response)]);
      }
      // The shadow member would reject from the second request on; only the gate rejects, and
      // it counted every request it admitted.
      assert.deepEqual(seen, [
        [200, { "watch-gate": 1 }],
        [200, { "watch-gate": 0 }],
        [429, { "watch-gate": 0 }],
      ]);
      const peeked = await context.backend.run(() =>
        context.throttles.watch.peek(fakeConnection as C),
      );
      assert.equal(peeked.allowed, false, "the shadow throttle counted its requests");
    });

    it("answers a denied address 403 with a JSON detail and no Retry-After; exempts an allowed one", async () => {
      for (let n = 0; n < 2; n++) {
        const denied = await get("/denied");
        assert.equal(denied.status, 403);
        assert.equal(denied.headers.get("retry-after"), null);
        assert.equal(denied.headers.get("ratelimit"), null);
        assert.match(denied.headers.get("content-type") ?? "", /^application\/json/);
        assert.deepEqual(await denied.json(), {
          detail: "Forbidden: requests from this address are refused.",
        });
      }
      for (let n = 0; n < 3; n++) {
        const allowed = await get("/allowed");
        assert.equal(allowed.status, 200);
        assert.equal(allowed.headers.get("ratelimit"), null, "an exempt client has no quota");
      }
    });

    it("answers 500 when the identifier throws, with nothing counted and no crash", async () => {
      const response = await get("/broken");
      assert.equal(response.status, 500);
      assert.equal((await get("/single-missing-route")).status, 404, "the server still serves");
    });

    it("installs the app's backend for handlers that call throttles themselves", async () => {
      assert.equal((await get("/manual")).status, 200);
      // Counted on the app's backend: without one installed, the handler's hit would throw.
      assert.equal((await get("/manual")).status, 429);
    });

    it("ignores a spoofed X-Forwarded-For: rotating it gains nothing", async () => {
      const statuses = [];
      for (let n = 0; n < 4; n++) {
        const response = await get("/spoof", { headers: { "x-forwarded-for": `198.51.100.${n}` } });
        statuses.push(response.status);
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
    });

    it("survives huge and malformed forwarding headers", async () => {
      const hostile = {
        "x-forwarded-for": `${"not-an-ip, ".repeat(1200)}[::1`,
        forwarded: `for="[2001:db8::1;by=;;;,,,${"x".repeat(2000)}`,
      };
      const response = await get("/mw/prefix/hostile", { headers: hostile });
      assert.equal(response.status, 200);
      assert.equal(serviceLimits(response)["mw-prefix"]?.r, 1, "counted once");
    });

    it("filters app-wide throttles by path prefix, RegExp, methods and hook", async () => {
      const statuses = async (path: string, n: number, init?: RequestInit) => {
        const seen = [];
        for (let i = 0; i < n; i++) seen.push((await get(path, init)).status);
        return seen;
      };
      // "/mw/prefix/" 2/m: the hostile request above took one.
      assert.deepEqual(await statuses("/mw/prefix/a", 2), [200, 429]);
      assert.deepEqual(await statuses("/mw/prefixed", 2), [200, 200], "a prefix, not a substring");
      assert.deepEqual(await statuses("/mw/re/12", 3), [200, 200, 429]);
      assert.deepEqual(await statuses("/mw/re/x", 3), [200, 200, 200]);
      assert.deepEqual(await statuses("/mw/methods", 3), [200, 200, 200], "GET is not filtered");
      assert.deepEqual(await statuses("/mw/methods", 2, { method: "POST" }), [200, 429]);
      assert.deepEqual(
        await statuses("/mw/methods", 1, { method: "PUT" }),
        [429],
        "case-insensitive",
      );
      assert.deepEqual(await statuses("/mw/hooked", 2), [200, 200]);
      const hooked = { headers: { "x-hooked": "yes" } };
      assert.deepEqual(await statuses("/mw/hooked", 2, hooked), [200, 429]);
    });

    it("runs app-wide throttles in the order given; the first rejection answers", async () => {
      const first = await get("/mw/order");
      assert.equal(first.status, 200);
      assert.deepEqual(Object.keys(serviceLimits(first)), ["mw-order-first", "mw-order-second"]);
      const second = await get("/mw/order");
      assert.equal(second.status, 429);
      assert.deepEqual(remainingOf(second), { "mw-order-first": 3, "mw-order-second": 0 });
    });

    it("hands the handler every decision on the request, the most restrictive on top", async () => {
      const before = Date.now();
      const first = await get("/decision");
      assert.equal(first.status, 200);
      const { decision } = (await first.json()) as ReturnType<typeof describeDecision>;
      assert.ok(decision !== null);
      const { resetAt, resetAfterMs, ...rest } = decision;
      assert.deepEqual(rest, {
        allowed: true,
        limit: 2,
        remaining: 1,
        retryAfterMs: 0,
        policy: { uid: "decision-route", rate: "2/1m", strategy: "sliding-window-log" },
        decisions: [
          ["decision-app", true, 4],
          ["decision-route", true, 1],
        ],
      });
      assert.ok(resetAfterMs > 0 && resetAfterMs <= 60_000, `resetAfterMs ${resetAfterMs}`);
      assert.ok(resetAt >= before + resetAfterMs, "resetAt is never earlier than the reset");
      assert.deepEqual(serviceLimits(first), {
        "decision-app": { r: 4, t: 60 },
        "decision-route": { r: 1, t: 60 },
      });
      assert.equal((await get("/decision")).status, 200);
      assert.equal((await get("/decision")).status, 429);
      const undecided = await get("/undecided");
      assert.deepEqual(await undecided.json(), { decision: null });
    });

    it("calls the app's hooks for its throttles and the routes' reached through it", () => {
      const seen = (events: DecisionEvent[]) =>
        events
          .filter((event) => event.uid.startsWith("decision-"))
          .map((event) => [event.uid, event.allowed]);
      assert.deepEqual(seen(context.appEvents.decisions), [
        ["decision-app", true],
        ["decision-route", true],
        ["decision-app", true],
        ["decision-route", true],
        ["decision-app", true],
        ["decision-route", false],
      ]);
      assert.deepEqual(seen(context.appEvents.throttled), [["decision-route", false]]);
      const [event] = context.appEvents.throttled.filter((e) => e.uid === "decision-route");
      assert.equal(event?.strategy, "sliding-window-log");
      assert.equal(event?.backend, "suite");
      assert.match(event?.identity ?? "", /^[0-9a-f]{16}$/, "hashed by default");
    });

    it("answers a throttled request with the message and statusCode given", async () => {
      assert.equal((await get("/message-text")).status, 200);
      const text = await get("/message-text");
      assert.equal(text.status, 503);
      assert.match(text.headers.get("content-type") ?? "", /^text\/plain/);
      assert.equal(await text.text(), "slow down");
      assert.ok(Number(text.headers.get("retry-after")) >= 1, "Retry-After is unchanged");
      assert.equal(serviceLimits(text)["message-text"]?.r, 0, "so are the RateLimit headers");

      assert.equal((await get("/message-object")).status, 200);
      const object = await get("/message-object");
      assert.equal(object.status, 429);
      assert.match(object.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await object.json(), { error: "limited" });

      assert.equal((await get("/message-fn")).status, 200);
      const made = await get("/message-fn");
      assert.equal(made.status, 429);
      assert.deepEqual(await made.json(), {
        uid: "message-fn",
        remaining: 0,
        waitKnown: true,
        sawRequest: true,
      });
    });

    it("answers 500, not the route, when the message function throws", async () => {
      assert.equal((await get("/message-throws")).status, 200);
      const failed = await get("/message-throws");
      assert.equal(failed.status, 500);
      assert.doesNotMatch(await failed.text(), /"ok":true/, "the route did not run");
    });

    it("gives the error handler a ConnectionThrottled with the statusCode given", async () => {
      assert.equal((await get("/error-status")).status, 200);
      const response = await get("/error-status");
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("x-handled-by"), "app");
      assert.ok(Number(response.headers.get("retry-after")) >= 1);
    });

    it("resolves a dynamic backend per request (multi-tenant)", async () => {
      const tenant = (t: string) => get("/tenant", { headers: { "x-tenant": t } });
      const seen = [];
      for (const t of ["a", "a", "a", "b", "b", "b"]) seen.push((await tenant(t)).status);
      assert.deepEqual(seen, [200, 200, 429, 200, 200, 429]);
      const untouched = await context.backend.run(() =>
        context.throttles.tenant.peek(fakeConnection as C),
      );
      // A peek reports what would remain after this request: 1 of 2 when nothing was counted.
      assert.equal(untouched.remaining, 1, "the app's own backend counted nothing");
    });
  });
}

/** A connection from the test client's address, for peeking at its counters. */
const fakeConnection = { ip: "127.0.0.1", socket: { remoteAddress: "127.0.0.1" }, headers: {} };

/** `r` of each `RateLimit` item. */
export function remainingOf(response: Response): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(serviceLimits(response)).map(([name, { r }]) => [name, r]),
  );
}

/** `RateLimit` parsed by a third-party RFC 9651 parser, as `{ policy: { r, t } }`. */
export function serviceLimits(response: Response): Record<string, { r: unknown; t: unknown }> {
  const list = parseList(response.headers.get("ratelimit") ?? "");
  return Object.fromEntries(
    list.map(([name, params]) => [String(name), { r: params.get("r"), t: params.get("t") }]),
  );
}

/** `RateLimit-Policy` parsed the same way, as `{ policy: { q, w } }`. */
export function policies(response: Response): Record<string, { q: unknown; w: unknown }> {
  const list = parseList(response.headers.get("ratelimit-policy") ?? "");
  return Object.fromEntries(
    list.map(([name, params]) => [String(name), { q: params.get("q"), w: params.get("w") }]),
  );
}

/** What the suite's app error handler answers for a ConnectionThrottled. */
export function appThrottledAnswer(
  error: unknown,
): { status: number; headers: Record<string, string>; body: { custom: true } } | undefined {
  if (!(error instanceof ConnectionThrottled)) return undefined;
  return {
    status: error.status,
    headers: { ...error.headers, "x-handled-by": "app" },
    body: { custom: true },
  };
}
