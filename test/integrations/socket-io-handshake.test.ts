/**
 * Socket.IO connections throttled at the handshake: refused with `connect_error` and the wait
 * in `error.data`, an identifier's failure kept from the client, and a handshake whose client
 * goes while it waits for its turn. On a real server over loopback with the real client.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket } from "socket.io";
import { type Identifier, WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { type DecidedSocket, type HandshakeRefusal, throttleHandshake } from "traffik/socket.io";
import { LeakyBucketWithQueueStrategy } from "traffik/strategies";
import { IoServer, next } from "./socket-io-support.js";
import { pendingWaits, until } from "./turn-support.js";

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
  const denied = new WebSocketThrottle<Socket>({
    uid: "denied",
    rate: "2/h",
    denyList: ["127.0.0.0/8", "::1"],
  });
  const custom = new WebSocketThrottle<Socket>({ uid: "custom", rate: "1/h", backend });
  const failures: unknown[] = [];
  const deniedFailures: unknown[] = [];
  let connections = 0;
  const remaining: (number | undefined)[] = [];
  const server = new IoServer((io) => {
    io.use(throttleHandshake(handshakes));
    io.of("/broken").use(throttleHandshake({ onError: (e: unknown) => failures.push(e) }, broken));
    io.of("/denied").use(
      throttleHandshake({ onError: (e: unknown) => deniedFailures.push(e) }, denied),
    );
    io.of("/custom").use(
      throttleHandshake<Socket>(
        { message: async (_socket, decision) => `Slow down (${decision.policy.uid})` },
        custom,
      ),
    );
    io.on("connection", (socket) => {
      connections++;
      // The connection handler reads the handshake's decision on the socket.
      remaining.push((socket as DecidedSocket).traffik?.remaining);
    });
  });
  before(() => server.start());
  after(() => server.stop());

  it("refuses the third connection with connect_error, the wait in error.data, and no reconnection", async () => {
    for (let n = 0; n < 2; n++) (await server.connected()).disconnect();
    assert.equal(connections, 2);
    assert.deepEqual(remaining, [1, 0], "each connection saw its handshake's decision");
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

  it("refuses with the app's message when it has one, the rest of error.data unchanged", async () => {
    (await server.connected("/custom")).disconnect();
    const client = server.client("/custom");
    const [error] = (await next(client, "connect_error")) as [Error & { data: HandshakeRefusal }];
    assert.equal(error.message, "Slow down (custom)");
    assert.equal(error.data.detail, "Slow down (custom)");
    assert.equal(error.data.type, "rate_limit");
    assert.ok(error.data.retryAfterMs > 0);
    assert.throws(() => throttleHandshake({ message: 42 } as never, custom), /message must be/);
  });

  it("tells the client only 'Internal server error' when an identifier throws, and the app the rest", async () => {
    const client = server.client("/broken");
    const [error] = (await next(client, "connect_error")) as [Error];
    assert.equal(error.message, "Internal server error");
    assert.match(String(failures[0]), /identifier exploded/);
  });

  it("refuses a denied address with connect_error of type denied, without a backend", async () => {
    const client = server.client("/denied");
    const [error] = (await next(client, "connect_error")) as [
      Error & { data: { type: string; detail: string } },
    ];
    assert.deepEqual(error.data, {
      type: "denied",
      detail: "Forbidden: requests from this address are refused.",
    });
    assert.equal(client.active, false, "a middleware's refusal is not retried by the client");
    assert.deepEqual(deniedFailures, []);
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
