/**
 * Socket.IO events behind a wait for their turn: at most `maxPending` held, the rest answered
 * at once, every wait abandoned on disconnect; and hostile payloads. On a real server over
 * loopback with the real client.
 */
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import type { Socket } from "socket.io";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import {
  type EventGuard,
  type RateLimitEvent,
  type ThrottleEventsOptions,
  throttleEvents,
} from "traffik/socket.io";
import { LeakyBucketWithQueueStrategy } from "traffik/strategies";
import { burst, IoServer, loopbackClient } from "./socket-io-support.js";
import { pendingWaits, until } from "./turn-support.js";

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
    // Initialised before the burst, so that the first event is decided at once, not held while
    // the backend starts: with it held, one more event would find the bound reached.
    await backend.ready();
    options = { throttles: queued, maxPending: 8 };
    await until(() => pendingWaits.size === 0, "nothing waits before the test");
    const client = await server.connected();
    const limits: RateLimitEvent[] = [];
    client.on("rate_limit", (answer: RateLimitEvent) => limits.push(answer));
    for (const message of burst(50)) client.emit("say", message);
    // m0 is delivered; m1..m8 wait their turn; the other 41 find the bound reached.
    const guard = server.guards.at(-1) as EventGuard;
    await until(
      () => limits.length >= 41,
      () =>
        `the events beyond the bound were answered: ${limits.length} answers, ${arrived} arrived, ` +
        `${guard?.pending} held, ${delivered.length} delivered, client connected: ${client.connected}`,
    );
    assert.equal(limits.length, 41, "only the events beyond the bound were answered");
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
