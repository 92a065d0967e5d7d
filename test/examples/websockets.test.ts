import assert from "node:assert/strict";
import { once } from "node:events";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocket } from "ws";
import { awayFromWindowEdges } from "../support/window-edges.js";

/** Closes `server` with whatever sockets a test left open on it, passed or failed. */
function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Five messages on one socket: three succeed, two are answered as rate limited. */
async function chat(url: string): Promise<void> {
  // The examples' fixed windows ("3/10s", "10/m") end on the epoch's 10 s and minutes.
  await awayFromWindowEdges([10_000, 60_000]);
  const client = new WebSocket(url);
  await once(client, "open");
  const replies: { status?: string; type?: string }[] = [];
  const all = new Promise<void>((resolve) =>
    client.on("message", (data) => {
      replies.push(JSON.parse(String(data)));
      if (replies.length === 5) resolve();
    }),
  );
  for (let n = 0; n < 5; n++) client.send(`hello ${n}`);
  await all;
  client.close();
  assert.deepEqual(
    replies.map((r) => r.status ?? r.type),
    ["success", "success", "success", "rate_limit", "rate_limit"],
  );
}

/** Handshakes 2 to 11 (10/m, the chat took one): nine open, the eleventh gets 429. */
async function handshakes(url: string): Promise<void> {
  for (let n = 0; n < 9; n++) {
    const client = new WebSocket(url);
    await once(client, "open");
    client.close();
  }
  const refused = new WebSocket(url);
  refused.on("error", () => {}); // closed before it was established: expected
  const [, response] = (await once(refused, "unexpected-response")) as [unknown, IncomingMessage];
  assert.equal(response.statusCode, 429);
  assert.ok(Number(response.headers["retry-after"]) >= 1);
  refused.terminate();
}

describe("the WebSocket examples", () => {
  it("examples/ws.ts", async (t) => {
    const { server } = await import("../../examples/ws.js");
    server.listen(0, "127.0.0.1");
    t.after(() => closeServer(server));
    await once(server, "listening");
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await chat(url);
    await handshakes(url);
  });

  it("examples/fastify-websocket.ts", async (t) => {
    const { app } = await import("../../examples/fastify-websocket.js");
    t.after(() => app.close());
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    const url = `${address.replace("http", "ws")}/chat`;
    await chat(url);
    await handshakes(url);
  });

  it("examples/hono-websocket.ts", async (t) => {
    const { start } = await import("../../examples/hono-websocket.js");
    let port = 0;
    const server = start(0, (p) => {
      port = p;
    }) as Server;
    t.after(() => closeServer(server));
    await once(server, "listening");
    const url = `ws://127.0.0.1:${port || (server.address() as AddressInfo).port}/chat`;
    await chat(url);
    await handshakes(url);
  });
});
