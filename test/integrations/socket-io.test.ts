/**
 * Socket.IO on a real server over loopback with the real client: handshakes refused with
 * `connect_error`, events throttled per socket (answered through the acknowledgement or a
 * `rate_limit` event, never delivered), the bound on held events, abandoned waits, and
 * hostile payloads.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { Server, type Socket } from "socket.io";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { type Identifier, WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import {
  type EventGuard,
  type HandshakeRefusal,
  type RateLimitEvent,
  type ThrottleEventsOptions,
  throttleEvents,
  throttleHandshake,
} from "traffik/socket.io";
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
import { pendingWaits, until } from "./turn-support.js";

/** A Socket.IO server on a loopback port, and every client opened against it. */
class IoServer {
  readonly io: Server;
  readonly guards: EventGuard[] = [];
  private readonly http = createServer();
  private readonly clients: ClientSocket[] = [];
  url = "";

  constructor(setup: (io: Server, server: IoServer) => void) {
    this.io = new Server(this.http);
    setup(this.io, this);
  }

  async start(): Promise<void> {
    this.http.listen(0, "127.0.0.1");
    await once(this.http, "listening");
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** A client on the WebSocket transport, reconnecting only when told to. */
  client(namespace = "/"): ClientSocket {
    const client = connect(`${this.url}${namespace}`, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    this.clients.push(client);
    return client;
  }

  async connected(namespace = "/"): Promise<ClientSocket> {
    const client = this.client(namespace);
    await next(client, "connect");
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    await this.io.close();
  }
}

/** The arguments of the client's next `event`. */
function next(client: ClientSocket, event: string): Promise<unknown[]> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));
}

const burst = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

/** Emits every message with an acknowledgement and collects the answers, in order. */
function emitAll(client: ClientSocket, event: string, messages: readonly string[]) {
  return Promise.all(messages.map((m) => client.emitWithAck(event, m) as Promise<unknown>));
}

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

/** The loopback client as the default identifier sees it, for peeking at its counters. */
const loopbackClient = { handshake: { address: "127.0.0.1" } } as Socket;

describe("Socket.IO: events behind a wait, the bound on held events, hostile payloads", () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  let options: ThrottleEventsOptions<Socket>;
  const delivered: string[] = [];
  let arrived = 0;
  const server = new IoServer((io, self) => {
    io.on("connection", (socket) => {
      socket.onAny(() => arrived++);
      self.guards.push(throttleEvents(socket, options));
      socket.on("say", (text: string) => {
        delivered.push(String(text));
      });
    });
  });
  before(async () => {
    process.on("warning", onWarning);
    await server.start();
  });
  after(async () => {
    await server.stop();
    process.off("warning", onWarning);
  });
  afterEach(() => {
    delivered.length = 0;
    arrived = 0;
  });

  it("holds at most maxPending events waiting; the rest are refused at once; a disconnect abandons every wait", async () => {
    // Each event after the first waits an hour for its turn, on a clock that stands still.
    const backend = new InMemoryBackend({ namespace: "sio-queue", clock: () => 0 });
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 30 });
    const queued = new WebSocketThrottle<Socket>({ uid: "queued", rate: "1/h", strategy, backend });
    options = { throttles: queued, maxPending: 8 };
    await until(() => pendingWaits.size === 0, "nothing waits before the test");
    const client = await server.connected();
    const limits: RateLimitEvent[] = [];
    client.on("rate_limit", (answer: RateLimitEvent) => limits.push(answer));
    for (const message of burst(50)) client.emit("say", message);
    // m0 is delivered; m1..m8 wait their turn; the other 41 find the bound reached.
    await until(() => limits.length === 41, "the events beyond the bound were answered");
    const guard = server.guards.at(-1) as EventGuard;
    assert.equal(arrived, 50);
    assert.equal(guard.pending, 8, "eight are held");
    assert.deepEqual(delivered, ["m0"]);
    assert.ok(limits.every((l) => l.type === "rate_limit" && l.retryAfter === 1));
    client.disconnect();
    await guard.settled();
    await until(() => pendingWaits.size === 0, "every wait ended with the socket");
    assert.equal(guard.pending, 0);
    assert.deepEqual(delivered, ["m0"], "nothing was delivered after the disconnect");
    assert.deepEqual(warnings, [], "no MaxListenersExceededWarning, no warning at all");
  });

  it("survives hostile payloads: a cost that throws drops its event only; huge and binary payloads count once", async () => {
    const backend = new InMemoryBackend({ namespace: "sio-hostile" });
    const sized = new WebSocketThrottle<Socket>({ uid: "sized", rate: "100/h", backend });
    const failures: unknown[] = [];
    options = {
      throttles: sized,
      onError: (error) => failures.push(error),
      cost: (_event, [payload]) => {
        if (typeof payload !== "string") throw new TypeError("text only");
        return 1;
      },
    };
    const client = await server.connected();
    client.emit("say", { nested: { deeper: [1, 2, 3] } });
    client.emit("say", Buffer.alloc(64 * 1024));
    client.emit("say", "x".repeat(500_000), ...Array.from({ length: 1000 }, (_, i) => i));
    client.emit("say", "fine");
    await until(() => delivered.length === 2, "the text events were delivered");
    assert.equal(failures.length, 2, "the two non-text events went to onError");
    assert.deepEqual(
      delivered.map((d) => d.slice(0, 4)),
      ["xxxx", "fine"],
    );
    const left = await sized.peek(loopbackClient);
    assert.equal(left.remaining, 100 - 2 - 1, "two events counted, once each");
  });

  it("rejects bad options at once, naming them", () => {
    const backend = new InMemoryBackend({ namespace: "sio-bad" });
    const throttle = new WebSocketThrottle<Socket>({ uid: "bad", rate: "1/h", backend });
    const socket = { use() {}, once() {}, emit() {}, disconnect() {} } as unknown as Socket;
    for (const maxPending of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => throttleEvents(socket, { throttles: throttle, maxPending }),
        /maxPending must be a whole number of at least 1/,
      );
    }
    assert.throws(
      () => throttleEvents(socket, { throttles: throttle, onThrottled: "close" as "drop" }),
      /onThrottled must be "error", "drop" or "disconnect"/,
    );
    assert.throws(() => throttleEvents(socket, { throttles: [] }), /one or more throttles/);
    assert.throws(
      () => throttleEvents(socket, { throttles: throttle, events: [] }),
      /events must be a non-empty list/,
    );
    assert.throws(
      () => throttleEvents(socket, { throttles: [throttle, throttle], cost: () => 1 }),
      /a per-event cost needs a single throttle/,
    );
    assert.throws(
      () => throttleEvents(socket, { throttles: throttle, maxPendng: 3 } as never),
      /did you mean "maxPending"/,
    );
  });
});

describe("Socket.IO: connections throttled at the handshake", () => {
  const backend = new InMemoryBackend({ namespace: "sio-handshake" });
  const handshakes = new WebSocketThrottle<Socket>({ uid: "handshakes", rate: "2/h", backend });
  const broken = new WebSocketThrottle<Socket>({
    uid: "broken",
    rate: "2/h",
    backend,
    identifier: (() => {
      throw new Error("identifier exploded");
    }) as Identifier<Socket>,
  });
  const failures: unknown[] = [];
  let connections = 0;
  const server = new IoServer((io) => {
    io.use(throttleHandshake(handshakes));
    io.of("/broken").use(throttleHandshake({ onError: (e: unknown) => failures.push(e) }, broken));
    io.on("connection", () => connections++);
  });
  before(() => server.start());
  after(() => server.stop());

  it("refuses the third connection with connect_error, the wait in error.data, and no reconnection", async () => {
    for (let n = 0; n < 2; n++) (await server.connected()).disconnect();
    assert.equal(connections, 2);
    const client = server.client();
    const [error] = (await next(client, "connect_error")) as [Error & { data: HandshakeRefusal }];
    assert.equal(error.data.type, "rate_limit");
    assert.ok(error.data.retryAfter >= 1 && error.data.retryAfterMs > 0);
    assert.equal(error.data.retryAfter, Math.ceil(error.data.retryAfterMs / 1000));
    assert.match(error.message, /^Too many messages\. Retry in \d+ seconds?\.$/);
    assert.equal(error.data.detail, error.message);
    assert.equal(client.active, false, "a middleware's refusal is not retried by the client");
    assert.equal(connections, 2, "the connection handler never ran for it");
  });

  it("tells the client only 'Internal server error' when an identifier throws, and the app the rest", async () => {
    const client = server.client("/broken");
    const [error] = (await next(client, "connect_error")) as [Error];
    assert.equal(error.message, "Internal server error");
    assert.match(String(failures[0]), /identifier exploded/);
  });

  it("rejects anything but throttles at startup", () => {
    assert.throws(() => throttleHandshake(), /at least one throttle/);
    assert.throws(() => throttleHandshake({} as never), /at least one throttle/);
    assert.throws(() => throttleHandshake("nope" as never), /expected throttles/);
    assert.throws(
      () => throttleHandshake({ onErorr: () => {} } as never, handshakes),
      /did you mean "onError"/,
    );
  });
});

describe("Socket.IO: a handshake whose client goes while it waits for its turn", () => {
  it("never connects, and leaves no timer", async () => {
    const backend = new InMemoryBackend({ namespace: "sio-turn", clock: () => 0 });
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 1 });
    const turns = new WebSocketThrottle<Socket>({ uid: "turns", rate: "1/h", strategy, backend });
    let connections = 0;
    const server = new IoServer((io) => {
      io.use(throttleHandshake(turns));
      io.on("connection", () => connections++);
    });
    await server.start();
    try {
      await until(() => pendingWaits.size === 0, "nothing waits before the test");
      await server.connected();
      const second = server.client();
      await until(() => pendingWaits.size === 1, "the second handshake waits for its turn");
      second.disconnect();
      await until(() => pendingWaits.size === 0, "its wait ended with its connection");
      assert.equal(connections, 1, "only the first handshake connected");
    } finally {
      await server.stop();
    }
  });
});
