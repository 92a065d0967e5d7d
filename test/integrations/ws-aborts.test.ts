/**
 * A WebSocket handshake or a gateway message that waits for its turn (leaky bucket with queue)
 * while its client goes away: nothing runs for it and no timer is left. On real servers over
 * loopback.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import { after, describe, it } from "node:test";
import { Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { WsAdapter } from "@nestjs/platform-ws";
import { SubscribeMessage, WebSocketGateway } from "@nestjs/websockets";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { Throttled, TraffikModule } from "traffik/nestjs";
import { LeakyBucketWithQueueStrategy } from "traffik/strategies";
import { throttleUpgrade } from "traffik/ws";
import { WebSocket, WebSocketServer } from "ws";
import { pendingWaits, queueThrottles, until } from "./turn-support.js";

describe("WebSockets: a handshake or a message whose client goes while it waits for its turn", () => {
  it("throttleUpgrade: the handshake is neither upgraded nor answered, and leaves no timer", async () => {
    const t = queueThrottles();
    const decide = throttleUpgrade(t.one);
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    let connections = 0;
    http.on("upgrade", async (request, socket, head) => {
      if (!(await decide(request, socket))) return;
      wss.handleUpgrade(request, socket, head, (ws) => {
        connections++;
        ws.close();
      });
    });
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    after(() => {
      wss.close();
      http.closeAllConnections();
      http.close();
    });
    const url = `ws://127.0.0.1:${(http.address() as import("node:net").AddressInfo).port}`;
    await until(() => pendingWaits.size === 0, "nothing waits before the test");
    const first = new WebSocket(url);
    await once(first, "open");
    const second = new WebSocket(url);
    second.on("error", () => {}); // "closed before the connection was established": expected
    await until(() => pendingWaits.size === 1, "the second handshake waits for its turn");
    second.terminate();
    await until(() => pendingWaits.size === 0, "its wait ended with its socket");
    assert.equal(connections, 1, "only the first handshake was upgraded");
  });

  it("throttleUpgrade: a handshake that waits for its turn is then upgraded, and its socket works", async () => {
    // 20 a second: the second handshake waits 50 ms for its turn, on the real clock.
    const backend = new InMemoryBackend({ namespace: "upgrade-turn" });
    const strategy = new LeakyBucketWithQueueStrategy({ queueSize: 1 });
    const turns = new HTTPThrottle({ uid: "turns", rate: "20/s", strategy, backend });
    const decide = throttleUpgrade(turns);
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    http.on("upgrade", async (request, socket, head) => {
      if (!(await decide(request, socket))) return;
      wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on("message", (data) => ws.send(`echo:${String(data)}`));
      });
    });
    http.listen(0, "127.0.0.1");
    await once(http, "listening");
    after(() => {
      wss.close();
      http.closeAllConnections();
      http.close();
    });
    const url = `ws://127.0.0.1:${(http.address() as import("node:net").AddressInfo).port}`;
    const clients = [new WebSocket(url), new WebSocket(url)];
    after(() => {
      for (const client of clients) client.terminate();
    });
    // Listened for at once: on a loaded machine the second may open before the first is done.
    const opened = clients.map((client) => once(client, "open"));
    for (const [index, client] of clients.entries()) {
      await opened[index];
      client.send("hi");
      const [reply] = await once(client, "message");
      assert.equal(String(reply), "echo:hi");
    }
  });

  it("NestJS gateway: the message's handler never runs, and no timer is left", async () => {
    const t = queueThrottles();
    const handled: unknown[] = [];
    class QueueGateway {
      say(_client: unknown, data: unknown) {
        handled.push(data);
        return { event: "said", data };
      }
    }
    Reflect.decorate([WebSocketGateway({ path: "/queue" }) as ClassDecorator], QueueGateway);
    const proto = QueueGateway.prototype;
    Reflect.decorate(
      [SubscribeMessage("say") as MethodDecorator, Throttled(t.one) as MethodDecorator],
      proto,
      "say",
      Object.getOwnPropertyDescriptor(proto, "say"),
    );
    class AppModule {}
    Reflect.decorate(
      [
        Module({
          imports: [TraffikModule.forRoot({})],
          providers: [QueueGateway],
        }) as ClassDecorator,
      ],
      AppModule,
    );
    const app = await NestFactory.create(AppModule, { logger: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    await app.listen(0, "127.0.0.1");
    after(() => app.close());
    const url = (await app.getUrl()).replace("[::1]", "127.0.0.1").replace("http", "ws");
    await until(() => pendingWaits.size === 0, "nothing waits before the test");
    const client = new WebSocket(`${url}/queue`);
    await once(client, "open");
    client.send(JSON.stringify({ event: "say", data: 1 }));
    await once(client, "message");
    client.send(JSON.stringify({ event: "say", data: 2 }));
    await until(() => pendingWaits.size === 1, "the second message waits for its turn");
    client.terminate();
    await until(() => pendingWaits.size === 0, "its wait ended with its socket");
    assert.deepEqual(handled, [1], "only the first message reached the handler");
  });
});
