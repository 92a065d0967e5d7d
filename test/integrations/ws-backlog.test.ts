/**
 * Messages behind a slow handler: each is decided when it arrives, only admitted ones are held
 * for delivery, at most `maxPending` of them, and no AbortSignal collects a listener per held
 * message. On a real `ws` server over loopback.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { LeakyBucketWithQueueStrategy } from "traffik/strategies";
import { type MessageGuard, type ThrottleMessagesOptions, throttleMessages } from "traffik/ws";
import { WebSocket, WebSocketServer } from "ws";
import { pendingWaits, until } from "./turn-support.js";

/** A handler that finishes only when the test lets it: "slow" without any clock. */
class Gate {
  private open: (() => void) | undefined;
  private readonly opened = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  pass = (): Promise<void> => this.opened;
  release(): void {
    this.open?.();
  }
}

type Options = Omit<ThrottleMessagesOptions<IncomingMessage>, "onMessage">;

/** A `ws` server whose one socket at a time is guarded with `options`. */
class GuardedServer {
  guard: MessageGuard<unknown> | undefined;
  readonly delivered: string[] = [];
  arrived = 0;
  gate = new Gate();
  url = "";
  private readonly http = createServer();
  private readonly wss = new WebSocketServer({ server: this.http });

  constructor(options: () => Options) {
    this.wss.on("connection", (ws, request) => {
      ws.on("message", () => this.arrived++);
      this.guard = throttleMessages(ws, request, {
        ...options(),
        onMessage: (data) => {
          this.delivered.push(String(data));
          return this.gate.pass();
        },
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

const burst = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

describe("ws: messages behind a slow handler", () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  let options: Options;
  const server = new GuardedServer(() => options);
  before(async () => {
    process.on("warning", onWarning);
    await server.start();
  });
  after(async () => {
    await server.stop();
    process.off("warning", onWarning);
  });
  afterEach(() => {
    server.gate.release();
    server.gate = new Gate();
    server.delivered.length = 0;
    server.arrived = 0;
  });

  it("holds at most maxPending admitted messages; the rest get the throttled action at once", async () => {
    const backend = new InMemoryBackend({ namespace: "backlog" });
    const roomy = new WebSocketThrottle({ uid: "roomy", rate: "1000/h", backend });
    // Initialized, the in-memory backend decides each message in the turn it arrives.
    await backend.ready();
    options = { throttles: roomy, maxPending: 8 };
    const client = new WebSocket(server.url);
    await once(client, "open");
    const replies: string[] = [];
    client.on("message", (data) => replies.push(String(data)));
    for (const message of burst(50)) client.send(message);
    // The handler holds m0; 8 more are held behind it; the other 41 are refused on arrival.
    await until(() => replies.length >= 41, "the messages beyond the bound were answered");
    assert.equal(replies.length, 41, "only the messages beyond the bound were answered");
    assert.equal(server.arrived, 50);
    assert.deepEqual(server.delivered, ["m0"], "the slow handler has the first message");
    assert.equal(server.guard?.pending, 8, "eight are held");
    for (const reply of replies) assert.equal(JSON.parse(reply).type, "rate_limit");
    server.gate.release();
    await server.guard?.settled();
    assert.deepEqual(server.delivered, burst(9), "the held ones are delivered, in order");
    assert.equal(server.guard?.pending, 0);
    const remaining = await roomy.peek(fakeConnection);
    assert.equal(remaining.remaining, 1000 - 9 - 1, "refused messages took nothing");
    client.close();
  });

  it("keeps no AbortSignal listener per waiting message, and closing abandons every wait", async () => {
    // Each message after the first waits an hour for its turn, on a clock that stands still.
    const backend = new InMemoryBackend({ namespace: "queued", clock: () => 0 });
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 30 });
    const queued = new WebSocketThrottle({ uid: "queued", rate: "1/h", strategy, backend });
    options = { throttles: queued, maxPending: 40 };
    const client = new WebSocket(server.url);
    await once(client, "open");
    for (const message of burst(25)) client.send(message);
    await until(() => server.arrived === 25, "the server has every message");
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
      "no MaxListenersExceededWarning, no warning at all",
    );
    await until(() => server.guard?.pending === 24, "24 messages wait for their turn");
    assert.deepEqual(server.delivered, ["m0"]);
    server.gate.release();
    client.close();
    await once(client, "close");
    await server.guard?.settled();
    await until(() => pendingWaits.size === 0, "every wait ended with the socket");
    assert.equal(server.guard?.pending, 0);
    assert.deepEqual(server.delivered, ["m0"], "nothing was delivered after close");
    assert.deepEqual(warnings, [], "no warning at all");
  });

  it("rejects a bound that is not a whole number of at least 1", () => {
    const backend = new InMemoryBackend({ namespace: "bad-bound" });
    const throttle = new WebSocketThrottle({ uid: "bad", rate: "1/h", backend });
    const socket = { send() {}, close() {}, on() {}, once() {} };
    for (const maxPending of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () =>
          throttleMessages(socket, {} as IncomingMessage, {
            throttles: throttle,
            maxPending,
            onMessage() {},
          }),
        /maxPending must be a whole number of at least 1/,
      );
    }
  });
});

const fakeConnection = { socket: { remoteAddress: "127.0.0.1" }, headers: {} } as IncomingMessage;
