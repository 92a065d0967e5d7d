/**
 * The Quick Start on Hono (on @hono/node-server): an app-wide limit on /api/, a tighter one on
 * one route, and a route that calls its throttle itself. Run it with `npx tsx examples/hono.ts`.
 */
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ConnectionThrottled } from "traffik/errors";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/hono";

export const backend = new InMemoryBackend({ namespace: "hono-example" });
const api = new HTTPThrottle<Context>({ uid: "api", rate: "100/m" });
const data = new HTTPThrottle<Context>({ uid: "data", rate: "5/10s" });
const hello = new HTTPThrottle<Context>({ uid: "hello", rate: "10/m" });

export const app = new Hono();
app.use(
  ThrottleMiddleware({
    backend,
    middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })],
  }),
);

app.get("/api/data", throttled(data), (c) => c.json({ message: "Success" }));

app.get("/api/hello", async (c) => {
  await hello.hit(c); // throws ConnectionThrottled, answered by onError below
  return c.json({ message: "Hello World" });
});

app.onError((error, c) => {
  if (!(error instanceof ConnectionThrottled)) throw error;
  return c.json({ detail: error.detail, retryAfter: error.retryAfter }, 429, error.headers);
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const port = Number(process.env.PORT ?? 3000);
  const server = serve({ fetch: app.fetch, port });
  server.on("close", () => backend.close());
  console.log(`Hono example on http://localhost:${port}/api/data`);
}
