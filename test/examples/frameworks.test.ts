import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { getRequestListener } from "@hono/node-server";
import { parseList } from "structured-headers";
import { awayFromWindowEdges } from "../support/window-edges.js";

/** Serves an example app on a loopback port for the duration of `use`. */
async function serving(server: Server, use: (url: string) => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections(); // fetch keeps connections alive
    await new Promise((resolve) => server.close(resolve));
  }
}

async function quickStart(url: string): Promise<void> {
  // The examples' fixed windows ("5/10s", "100/m") end on the epoch's 10 s and minutes.
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
}

describe("the framework examples", () => {
  it("examples/express.ts", async () => {
    const { app } = await import("../../examples/express.js");
    await serving(createServer(app), quickStart);
  });

  it("examples/fastify.ts", async (t) => {
    const { app } = await import("../../examples/fastify.js");
    t.after(() => app.close());
    await app.ready();
    await serving(app.server, quickStart);
  });

  it("examples/hono.ts", async () => {
    const { app } = await import("../../examples/hono.js");
    await serving(createServer(getRequestListener(app.fetch)), quickStart);
  });
});
