/**
 * The Quick Start on Express: an app-wide limit on /api/, a tighter one on one route, and a
 * route that calls its throttle itself. Run it with `npx tsx examples/express.ts`.
 */
import { pathToFileURL } from "node:url";
import express from "express";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/express";

export const backend = new InMemoryBackend({ namespace: "express-example" });
const api = new HTTPThrottle({ uid: "api", rate: "100/m" });
const data = new HTTPThrottle({ uid: "data", rate: "5/10s" });
const hello = new HTTPThrottle({ uid: "hello", rate: "10/m" });

export const app = express();
app.use(
  ThrottleMiddleware({
    backend,
    middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })],
  }),
);

app.get("/api/data", throttled(data), (_req, res) => {
  res.json({ message: "Success" });
});

app.get("/api/hello", async (req, res, next) => {
  try {
    await hello.hit(req); // throws ConnectionThrottled when over the limit
    res.json({ message: "Hello World" });
  } catch (error) {
    next(error);
  }
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const server = app.listen(Number(process.env.PORT ?? 3000), () =>
    console.log(`Express example on http://localhost:${process.env.PORT ?? 3000}/api/data`),
  );
  server.on("close", () => backend.close());
}
