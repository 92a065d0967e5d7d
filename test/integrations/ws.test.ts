import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { parseList } from "structured-headers";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ConfigurationError, ConnectionThrottled } from "traffik/errors";
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
import {
  type DecidedUpgradeRequest,
  type MessageGuard,
  type ThrottleMessagesOptions,
  throttleMessages,
  throttleUpgrade,
} from "traffik/ws";
import { WebSocket, WebSocketServer } from "ws";
import { settlesWithin } from "../support/settles.js";

type Setup = (ws: WebSocket, request: IncomingMessage) => MessageGuard<unknown> | undefined;

/** A `ws` server on a loopback port; each path is a scenario set up by `routes`. */
class EchoServer {
  readonly guards: MessageGuard<unknown>[] = [];
  readonly received: string[] = [];
  private readonly http: Server = createServer();
  private readonly wss = new WebSocketServer({ noServer: true });
  url = "";

  constructor(
    routes: Record<string, Setup>,
    upgrade?: (request: IncomingMessage, socket: import("node:stream").Duplex) => Promise<boolean>,
  ) {
    this.http.on("upgrade", async (request, socket, head) => {
      if (upgrade && !(await upgrade(request, socket))) return;
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on("message", (data) => this.received.push(String(data)));
        const guard = routes[request.url ?? ""]?.(ws, request);
        if (guard) this.guards.push(guard);
      });
    });
  }

  async start(): Promise<void> {
    this.http.listen(0, "127.0.0.1");
    await once(this.http, "listening");
    this.url = `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise((resolve) => this.http.close(resolve));
  }
}

/** Opens a client, sends `messages` at once, and collects what comes back until `done`. */
async function converse(
  url: string,
  messages: readonly string[],
  done: (replies: string[]) => boolean,
): Promise<{ replies: string[]; close?: { code: number; reason: string } }> {
  const client = new WebSocket(url);
  await once(client, "open");
  const replies: string[] = [];
  let closed: { code: number; reason: string } | undefined;
  const finished = new Promise<void>((resolve) => {
    client.on("message", (data) => {
      replies.push(String(data));
      if (done(replies)) resolve();
    });
    client.on("close", (code, reason) => {
      closed = { code, reason: String(reason) };
      resolve();
    });
  });
  for (const message of messages) client.send(message);
  await finished;
  client.close();
  return { replies, ...(closed ? { close: closed } : {}) };
}

/** Waits for I/O until `check` holds (polling, bounded), not for time to pass. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), "condition never held");
}

const burst = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

describe("ws: per-message throttling", () => {
  // Time stands still for the throttles: no window ends and no queue drains while a burst is
  // in flight, however slowly the messages arrive. Queued messages still wait in real time.
  const backend = new InMemoryBackend({ namespace: "ws", clock: () => 0 });
  const strategies: Record<string, Strategy> = {
    "fixed-window": new FixedWindowStrategy(),
    "sliding-log": new SlidingWindowLogStrategy(),
    "sliding-counter": new SlidingWindowCounterStrategy(),
    "token-bucket": new TokenBucketStrategy(),
    gcra: new GCRAStrategy(),
    "leaky-bucket": new LeakyBucketStrategy(),
  };
  const throttleFor = (uid: string, rate: string, strategy?: Strategy) =>
    new WebSocketThrottle({ uid, rate, backend, ...(strategy ? { strategy } : {}) });
  const echo =
    (
      throttle: WebSocketThrottle,
      options: Partial<ThrottleMessagesOptions<IncomingMessage>> = {},
    ): Setup =>
    (ws, request) =>
      throttleMessages(ws, request, {
        throttles: throttle,
        onMessage: (data) => ws.send(`echo:${String(data)}`),
        ...options,
      });
  const routes: Record<string, Setup> = {};
  for (const [name, strategy] of Object.entries(strategies)) {
    // Hour-long windows: a burst within a test never sees a window end or a refill.
    routes[`/${name}`] = echo(throttleFor(name, "5/h", strategy));
  }
  const dropped = throttleFor("drop", "3/h");
  routes["/drop"] = echo(dropped, { onThrottled: "drop" });
  routes["/close-1008"] = echo(throttleFor("close-1008", "2/h"), { onThrottled: "close" });
  routes["/close-1013"] = echo(throttleFor("close-1013", "2/h"), {
    onThrottled: "close",
    closeCode: 1013,
  });
  routes["/queue"] = echo(
    throttleFor("queue", "20/s", new LeakyBucketWithQueueStrategy({ queueSize: 2 })),
  );
  routes["/slow-queue"] = echo(
    throttleFor("slow-queue", "1/h", new LeakyBucketWithQueueStrategy({ queueSize: 5 })),
  );
  routes["/watch"] = echo(
    new WebSocketThrottle({ uid: "watch", rate: "2/h", backend, mode: "shadow" }),
  );
  routes["/denied"] = echo(
    new WebSocketThrottle({ uid: "denied", rate: "5/h", backend, denyList: ["127.0.0.1", "::1"] }),
  );
  // The handler reads each message's decision.
  const told = [throttleFor("told-short", "3/h"), throttleFor("told-long", "10/h")];
  routes["/told"] = (ws, request) =>
    throttleMessages(ws, request, {
      throttles: told,
      onMessage: (data, _isBinary, decision) =>
        ws.send(`${String(data)}:${decision.policy.uid}:${decision.remaining}`),
    });
  // The app's own answer to a throttled message, as a reply and as a close reason.
  routes["/message-error"] = echo(throttleFor("message-error", "1/h"), {
    message: async (_request, decision) => ({
      slowDown: decision.policy.uid,
      left: decision.remaining,
    }),
  });
  routes["/message-close"] = echo(throttleFor("message-close", "1/h"), {
    onThrottled: "close",
    message: "go away",
  });
  routes["/message-long"] = echo(throttleFor("message-long", "1/h"), {
    onThrottled: "close",
    message: "x".repeat(200),
  });
  // The original's loop: the handler awaits hit() and answers the throttled client itself.
  const manual = throttleFor("manual", "2/h");
  routes["/manual"] = (ws, request) => {
    ws.on("message", async (data) => {
      try {
        await manual.hit(request);
        ws.send(`echo:${String(data)}`);
      } catch (error) {
        if (!(error instanceof ConnectionThrottled)) throw error;
        ws.send(JSON.stringify({ status: "error", detail: error.detail }));
      }
    });
    return undefined;
  };
  const server = new EchoServer(routes);
  before(() => server.start());
  after(() => server.stop());

  for (const name of Object.keys(strategies)) {
    it(`${name}: a burst of 9 gives exactly 5 echoes and 4 rate_limit errors, in order`, async () => {
      const { replies } = await converse(`${server.url}/${name}`, burst(9), (r) => r.length === 9);
      assert.deepEqual(replies.slice(0, 5), [
        "echo:m0",
        "echo:m1",
        "echo:m2",
        "echo:m3",
        "echo:m4",
      ]);
      for (const reply of replies.slice(5)) {
        const error = JSON.parse(reply);
        assert.equal(error.type, "rate_limit");
        assert.equal(error.policy, name);
        assert.ok(error.retryAfter >= 1 && error.retryAfterMs > 0);
        assert.match(error.detail, /^Too many messages/);
      }
    });
  }

  it("hands onMessage each message's decision, the most restrictive on top", async () => {
    const { replies } = await converse(`${server.url}/told`, burst(4), (r) => r.length === 4);
    assert.deepEqual(replies.slice(0, 3), [
      "m0:told-short:2",
      "m1:told-short:1",
      "m2:told-short:0",
    ]);
    assert.equal(JSON.parse(replies[3] ?? "{}").type, "rate_limit");
  });

  it("drops throttled messages silently when told to", async () => {
    const client = new WebSocket(`${server.url}/drop`);
    await once(client, "open");
    const replies: string[] = [];
    client.on("message", (data) => replies.push(String(data)));
    server.received.length = 0;
    for (const message of burst(8)) client.send(message);
    // Wait until the server has the 8 messages and its guard has dealt with all of them.
    await until(() => server.received.length >= 8);
    await server.guards.at(-1)?.settled();
    // Its answers are on the wire before the pong to a ping sent now.
    client.ping();
    await once(client, "pong");
    client.close();
    assert.deepEqual(replies, ["echo:m0", "echo:m1", "echo:m2"]);
  });

  for (const code of [1008, 1013]) {
    it(`closes the socket with ${code} and a short reason when told to`, async () => {
      const { replies, close } = await converse(
        `${server.url}/close-${code}`,
        burst(5),
        () => false,
      );
      assert.deepEqual(replies, ["echo:m0", "echo:m1"], "nothing after the throttled message");
      assert.equal(close?.code, code);
      assert.match(close?.reason ?? "", /^Rate limit exceeded\. Retry in \d+ s\.$/);
      assert.ok(Buffer.byteLength(close?.reason ?? "") <= 123);
    });
  }

  it("answers a throttled message with the app's message, as a reply or a close reason", async () => {
    const replied = await converse(`${server.url}/message-error`, burst(2), (r) => r.length === 2);
    assert.deepEqual(replied.replies, ["echo:m0", '{"slowDown":"message-error","left":0}']);
    const closed = await converse(`${server.url}/message-close`, burst(2), () => false);
    assert.deepEqual(closed.close, { code: 1008, reason: "go away" });
    const long = await converse(`${server.url}/message-long`, burst(2), () => false);
    assert.match(
      long.close?.reason ?? "",
      /^Rate limit exceeded\. Retry in \d+ s\.$/,
      "too long for a close frame",
    );
  });

  it("queues with the leaky bucket: admitted messages wait their turn in order, a full queue answers rate_limit at once", async () => {
    const started = performance.now();
    const { replies } = await converse(`${server.url}/queue`, burst(5), (r) => r.length === 5);
    const elapsed = performance.now() - started;
    const echoes = replies.filter((r) => r.startsWith("echo:"));
    assert.deepEqual(echoes, ["echo:m0", "echo:m1", "echo:m2"]);
    // m3 and m4 found the queue (2) full: answered on arrival, not held behind m1 and m2.
    assert.deepEqual(
      replies.slice(1, 3).map((r) => JSON.parse(r).type),
      ["rate_limit", "rate_limit"],
    );
    assert.ok(elapsed >= 90, `the queued messages waited (${elapsed.toFixed(0)} ms)`);
  });

  it("leaves no timer behind when a socket closes while messages wait in the queue", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const client = new WebSocket(`${server.url}/slow-queue`);
    await once(client, "open");
    const replies: string[] = [];
    client.on("message", (data) => replies.push(String(data)));
    for (const message of burst(4)) client.send(message);
    await once(client, "message");
    assert.ok(timers() > before, "queued messages are waiting");
    client.close();
    await once(client, "close");
    const guard = server.guards.at(-1) as MessageGuard<unknown>;
    // Three messages were queued hours ahead; with the socket gone, nothing waits for them.
    await settlesWithin(guard.settled(), 30_000, "the waits were abandoned with the socket");
    assert.ok(timers() <= before, "no timer was left behind");
    assert.deepEqual(replies, ["echo:m0"], "nothing delivered after close");
  });

  it("a shadow throttle lets every message through", async () => {
    const { replies } = await converse(`${server.url}/watch`, burst(5), (r) => r.length === 5);
    assert.deepEqual(
      replies,
      burst(5).map((m) => `echo:${m}`),
    );
  });

  it("closes a denied address's socket with 1008 before any message is handled", async () => {
    const { replies, close } = await converse(`${server.url}/denied`, burst(3), () => false);
    assert.deepEqual(replies, []);
    assert.deepEqual(close, { code: 1008, reason: "Forbidden" });
  });

  it("keeps the original's loop: await hit() throws ConnectionThrottled per message", async () => {
    const { replies } = await converse(`${server.url}/manual`, burst(3), (r) => r.length === 3);
    assert.deepEqual(replies.slice(0, 2), ["echo:m0", "echo:m1"]);
    assert.deepEqual(JSON.parse(replies[2] as string), {
      status: "error",
      detail: JSON.parse(replies[2] as string).detail,
    });
    assert.match(JSON.parse(replies[2] as string).detail, /^Too many messages/);
  });
});

describe("ws: throttling the handshake", () => {
  const backend = new InMemoryBackend({ namespace: "ws-upgrade" });
  const handshakes = new WebSocketThrottle({ uid: "handshakes", rate: "2/h", backend });
  const server = new EchoServer({ "/": () => undefined }, throttleUpgrade(handshakes));
  before(() => server.start());
  after(() => server.stop());

  it("refuses the third handshake with 429, Retry-After and RateLimit before accepting it", async () => {
    for (let n = 0; n < 2; n++) {
      const client = new WebSocket(server.url);
      await once(client, "open");
      client.close();
    }
    const client = new WebSocket(server.url);
    const [, response] = (await once(client, "unexpected-response")) as [unknown, IncomingMessage];
    assert.equal(response.statusCode, 429);
    assert.ok(Number(response.headers["retry-after"]) >= 1);
    const [[name, params]] = parseList(String(response.headers.ratelimit)) as [
      [string, Map<string, unknown>],
    ];
    assert.equal(name, "handshakes");
    assert.equal(params.get("r"), 0);
    let body = "";
    for await (const chunk of response) body += chunk;
    assert.equal(JSON.parse(body).retryAfter, Number(response.headers["retry-after"]));
    client.on("error", () => {}); // "closed before the connection was established": expected
    client.terminate();
  });
});

describe("ws: a denied handshake", () => {
  const denied = new WebSocketThrottle({
    uid: "denied-handshakes",
    rate: "2/h",
    denyList: ["127.0.0.0/8", "::1"],
  });
  const server = new EchoServer({ "/": () => undefined }, throttleUpgrade(denied));
  before(() => server.start());
  after(() => server.stop());

  it("is refused with 403, a JSON detail and no Retry-After, without a backend", async () => {
    const client = new WebSocket(server.url);
    client.on("error", () => {}); // "closed before the connection was established": expected
    const [, response] = (await once(client, "unexpected-response")) as [unknown, IncomingMessage];
    assert.equal(response.statusCode, 403);
    assert.equal(response.headers["retry-after"], undefined);
    let body = "";
    for await (const chunk of response) body += chunk;
    assert.deepEqual(JSON.parse(body), {
      detail: "Forbidden: requests from this address are refused.",
    });
    client.terminate();
  });
});

describe("ws: the handshake's decision and answer", () => {
  const backend = new InMemoryBackend({ namespace: "ws-upgrade-message" });
  const handshakes = new WebSocketThrottle({ uid: "handshakes-m", rate: "1/h", backend });
  const server = new EchoServer(
    {
      // The connection handler gets the upgrade request, and on it the handshake's decision.
      "/": (ws, request) => {
        const decision = (request as DecidedUpgradeRequest).traffik;
        ws.send(JSON.stringify({ uid: decision?.policy.uid, remaining: decision?.remaining }));
        return undefined;
      },
    },
    throttleUpgrade({ statusCode: 503, message: { error: "busy" } }, handshakes),
  );
  before(() => server.start());
  after(() => server.stop());

  it("sets request.traffik for the connection handler, and refuses with the message and statusCode", async () => {
    const client = new WebSocket(server.url);
    const [data] = (await once(client, "message")) as [Buffer];
    assert.deepEqual(JSON.parse(String(data)), { uid: "handshakes-m", remaining: 0 });
    client.close();
    const refused = new WebSocket(server.url);
    const [, response] = (await once(refused, "unexpected-response")) as [unknown, IncomingMessage];
    assert.equal(response.statusCode, 503);
    assert.ok(Number(response.headers["retry-after"]) >= 1, "Retry-After unchanged");
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    let body = "";
    for await (const chunk of response) body += chunk;
    assert.deepEqual(JSON.parse(body), { error: "busy" });
    refused.on("error", () => {}); // "closed before the connection was established": expected
    refused.terminate();
  });

  it("rejects a bad statusCode or message at once", () => {
    assert.throws(() => throttleUpgrade({ statusCode: 302 }, handshakes), ConfigurationError);
    assert.throws(
      () => throttleUpgrade({ message: Symbol("x") as never }, handshakes),
      ConfigurationError,
    );
  });
});
