/**
 * Socket.IO events throttled per socket, on a real server over loopback with the real client:
 * answered through the acknowledgement or a `rate_limit` event and never delivered, dropped,
 * or answered with a disconnect; per event name, all or nothing, weighed.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { Socket } from "socket.io";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { type RateLimitEvent, type ThrottleEventsOptions, throttleEvents } from "traffik/socket.io";
import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  type Strategy,
  TokenBucketStrategy,
} from "traffik/strategies";
import { burst, emitAll, IoServer, loopbackClient, next } from "./socket-io-support.js";
import { until } from "./turn-support.js";

describe("Socket.IO: events throttled per socket", () => {
  // Time stands still for the throttles: no window ends and no queue drains during a burst.
  const backend = new InMemoryBackend({ namespace: "sio", clock: () => 0 });
  const strategies: Record<string, Strategy> = {
    "fixed-window": new FixedWindowStrategy(),
    "sliding-log": new SlidingWindowLogStrategy(),
    "sliding-counter": new SlidingWindowCounterStrategy(),
    "token-bucket": new TokenBucketStrategy(),
    gcra: new GCRAStrategy(),
    "leaky-bucket": new LeakyBucketStrategy(),
  };
  const throttleFor = (uid: string, rate: string, strategy?: Strategy) =>
    new WebSocketThrottle<Socket>({ uid, rate, backend, ...(strategy ? { strategy } : {}) });
  const routes: Record<string, Omit<ThrottleEventsOptions<Socket>, "onError">> = {};
  for (const [name, strategy] of Object.entries(strategies)) {
    routes[`/${name}`] = { throttles: throttleFor(name, "5/h", strategy) };
  }
  routes["/plain"] = { throttles: throttleFor("plain", "2/h") };
  routes["/drop"] = {
    throttles: throttleFor("drop", "2/h"),
    onThrottled: "drop",
    events: ["say"],
  };
  routes["/disconnect"] = {
    throttles: throttleFor("disconnect", "2/h"),
    onThrottled: "disconnect",
  };
  routes["/only-chat"] = { throttles: throttleFor("only-chat", "1/h"), events: ["chat"] };
  const pairA = throttleFor("pair-a", "2/h");
  const pairB = throttleFor("pair-b", "4/h");
  routes["/pair"] = { throttles: [pairA, pairB] };
  routes["/weighed"] = {
    throttles: throttleFor("weighed", "10/h"),
    // The acknowledgement callback is not among the arguments: were it, nothing would fit.
    cost: (_event, args) => (args.length === 1 ? String(args[0]).length : 100),
  };
  routes["/queue"] = {
    throttles: throttleFor("queue", "20/s", new LeakyBucketWithQueueStrategy({ queueSize: 2 })),
  };
  const delivered: string[] = [];
  const errors: unknown[] = [];
  const server = new IoServer((io, self) => {
    for (const [path, options] of Object.entries(routes)) {
      io.of(path).on("connection", (socket) => {
        self.guards.push(throttleEvents(socket, { ...options, onError: (e) => errors.push(e) }));
        const handler = (event: string) => (text: string, ack?: (reply: string) => void) => {
          delivered.push(`${event}:${text}`);
          if (ack) ack(`echo:${text}`);
          else socket.emit("echo", text);
        };
        socket.on("say", handler("say"));
        socket.on("chat", handler("chat"));
        socket.on("__proto__", handler("__proto__"));
        socket.on("constructor", handler("constructor"));
      });
    }
  });
  before(() => server.start());
  after(() => server.stop());
  afterEach(() => {
    delivered.length = 0;
    assert.deepEqual(errors, [], "no error reached onError");
  });

  for (const name of Object.keys(strategies)) {
    it(`${name}: a burst of 9 gives exactly 5 acknowledged echoes and 4 rate_limit answers`, async () => {
      const client = await server.connected(`/${name}`);
      const answers = await emitAll(client, "say", burst(9));
      assert.deepEqual(
        answers.slice(0, 5),
        burst(5).map((m) => `echo:${m}`),
      );
      for (const answer of answers.slice(5) as RateLimitEvent[]) {
        assert.equal(answer.type, "rate_limit");
        assert.equal(answer.policy, name);
        assert.equal(answer.event, "say");
        assert.ok(answer.retryAfter >= 1 && answer.retryAfterMs > 0);
        assert.match(answer.detail, /^Too many messages/);
      }
      assert.deepEqual(
        delivered,
        burst(5).map((m) => `say:${m}`),
        "the handler saw 5 events",
      );
    });
  }

  it("queues with the leaky bucket: admitted events wait their turn in order, a full queue is answered at once", async () => {
    const client = await server.connected("/queue");
    const arrivals: string[] = [];
    const answers = await Promise.all(
      burst(5).map(async (m) => {
        const answer = (await client.emitWithAck("say", m)) as string | RateLimitEvent;
        arrivals.push(typeof answer === "string" ? answer : `${answer.type}:${answer.event}`);
        return answer;
      }),
    );
    assert.deepEqual(answers.slice(0, 3), ["echo:m0", "echo:m1", "echo:m2"]);
    assert.deepEqual(delivered, ["say:m0", "say:m1", "say:m2"], "delivered in arrival order");
    // m3 and m4 found the queue (2) full: answered on arrival, not held behind m1 and m2.
    assert.deepEqual(arrivals.slice(-2), ["echo:m1", "echo:m2"]);
    assert.deepEqual(
      arrivals.filter((a) => a.startsWith("rate_limit")),
      ["rate_limit:say", "rate_limit:say"],
    );
  });

  it("sends a rate_limit event when the client asked for no acknowledgement", async () => {
    const client = await server.connected("/plain");
    const echoes: string[] = [];
    const limits: RateLimitEvent[] = [];
    client.on("echo", (text: string) => echoes.push(text));
    client.on("rate_limit", (answer: RateLimitEvent) => limits.push(answer));
    for (const message of burst(4)) client.emit("say", message);
    await until(() => echoes.length + limits.length === 4, "every event was answered");
    assert.deepEqual(echoes, ["m0", "m1"]);
    assert.deepEqual(
      limits.map((l) => [l.type, l.policy, l.event]),
      [
        ["rate_limit", "plain", "say"],
        ["rate_limit", "plain", "say"],
      ],
    );
  });

  it("drops throttled events silently when told to", async () => {
    const client = await server.connected("/drop");
    const heard: string[] = [];
    client.onAny((event: string) => heard.push(event));
    for (const message of burst(5)) client.emit("say", message);
    await until(() => delivered.length === 2, "two delivered");
    await server.guards.at(-1)?.settled();
    // "chat" is not throttled here: its answer comes after anything sent for the burst.
    assert.deepEqual(await emitAll(client, "chat", ["probe"]), ["echo:probe"]);
    assert.deepEqual(heard, ["echo", "echo"], "only the two echoes came back");
    assert.deepEqual(delivered, ["say:m0", "say:m1", "chat:probe"]);
  });

  it("answers, then disconnects the client when told to; nothing after is delivered", async () => {
    const client = await server.connected("/disconnect");
    const limits: RateLimitEvent[] = [];
    client.on("rate_limit", (answer: RateLimitEvent) => limits.push(answer));
    const reason = next(client, "disconnect");
    for (const message of burst(5)) client.emit("say", message);
    assert.equal((await reason)[0], "io server disconnect");
    assert.equal(limits.length, 1, "told why before the disconnect");
    assert.equal(limits[0]?.policy, "disconnect");
    assert.deepEqual(delivered, ["say:m0", "say:m1"]);
  });

  it("throttles only the events named; other names, hostile ones included, pass untouched", async () => {
    const client = await server.connected("/only-chat");
    assert.deepEqual(await emitAll(client, "chat", ["a"]), ["echo:a"]);
    const [refused] = (await emitAll(client, "chat", ["b"])) as RateLimitEvent[];
    assert.equal(refused?.event, "chat");
    assert.deepEqual(await emitAll(client, "say", burst(3)), ["echo:m0", "echo:m1", "echo:m2"]);
    assert.deepEqual(await emitAll(client, "__proto__", ["p"]), ["echo:p"]);
    assert.deepEqual(await emitAll(client, "constructor", ["c"]), ["echo:c"]);
  });

  it("applies several throttles all or nothing", async () => {
    const client = await server.connected("/pair");
    const answers = await emitAll(client, "say", burst(4));
    assert.deepEqual(answers.slice(0, 2), ["echo:m0", "echo:m1"]);
    assert.deepEqual(
      (answers.slice(2) as RateLimitEvent[]).map((a) => a.policy),
      ["pair-a", "pair-a"],
    );
    // Refused by pair-a, the events took nothing from pair-b: a peek says what would remain
    // after one more, 4 - 2 - 1.
    assert.equal((await pairB.peek(loopbackClient)).remaining, 1);
  });

  it("weighs an event by its payload: a costly event is refused, a cheap one still fits", async () => {
    const client = await server.connected("/weighed");
    assert.deepEqual(await emitAll(client, "say", ["12345678"]), ["echo:12345678"]);
    const [heavy] = (await emitAll(client, "say", ["123"])) as RateLimitEvent[];
    assert.equal(heavy?.type, "rate_limit");
    assert.deepEqual(await emitAll(client, "say", ["12"]), ["echo:12"]);
  });
});
