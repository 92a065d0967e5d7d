import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import { parseList } from "structured-headers";
import { awayFromWindowEdges } from "../support/window-edges.js";

describe("the Koa and Socket.IO examples", () => {
  it("examples/koa.ts", async (t) => {
    const { app } = await import("../../examples/koa.js");
    const server = app.listen(0, "127.0.0.1");
    t.after(() => {
      server.closeAllConnections(); // fetch keeps connections alive
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The example's fixed windows ("5/10s", "100/m") end on the epoch's 10 s and minutes.
    await awayFromWindowEdges([10_000, 60_000]);
    const statuses = [];
    let last: Response | undefined;
    for (let n = 0; n < 6; n++) {
      last = await fetch(`${url}/api/data`);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    const response = last as Response;
    assert.ok(Number(response.headers.get("retry-after")) >= 1);
    const items = parseList(response.headers.get("ratelimit") ?? "").map(([name, p]) => [
      name,
      p.get("r"),
    ]);
    assert.deepEqual(items, [
      ["api", 94],
      ["data", 0],
    ]);
    const hello = await fetch(`${url}/api/hello`);
    assert.equal(hello.status, 200);
    assert.deepEqual(await hello.json(), { message: "Hello World" });
  });

  it("examples/socket-io.ts", async (t) => {
    const { server, io } = await import("../../examples/socket-io.js");
    const clients: ClientSocket[] = [];
    t.after(async () => {
      for (const client of clients) client.disconnect();
      await io.close();
    });
    (server as Server).listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const open = () => {
      const client = connect(url, { transports: ["websocket"], reconnection: false });
      clients.push(client);
      return client;
    };
    const next = (client: ClientSocket, event: string) =>
      new Promise<unknown[]>((resolve) => client.once(event, (...args) => resolve(args)));
    // The example's fixed windows ("3/10s", "10/m") end on the epoch's 10 s and minutes.
    await awayFromWindowEdges([10_000, 60_000]);

    // Five events on one socket: three succeed, two are answered as rate limited.
    const chat = open();
    await next(chat, "connect");
    const replies = (await Promise.all(
      Array.from({ length: 5 }, (_, n) => chat.emitWithAck("chat", `hello ${n}`)),
    )) as { status?: string; type?: string }[];
    assert.deepEqual(
      replies.map((r) => r.status ?? r.type),
      ["success", "success", "success", "rate_limit", "rate_limit"],
    );
    chat.disconnect();

    // Connections 2 to 11 (10/m, the chat took one): nine connect, the eleventh is refused.
    for (let n = 0; n < 9; n++) {
      const client = open();
      await next(client, "connect");
      client.disconnect();
    }
    const [error] = (await next(open(), "connect_error")) as [
      Error & { data?: { type: string; retryAfterMs: number } },
    ];
    assert.equal(error.data?.type, "rate_limit");
    assert.ok((error.data?.retryAfterMs ?? 0) > 0);
  });
});
