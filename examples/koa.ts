/**
 * The Quick Start on Koa: an app-wide limit on /api/, a tighter one on one route, and a route
 * that calls its throttle itself. Run it with `npx tsx examples/koa.ts`.
 */
import { pathToFileURL } from "node:url";
import Router from "@koa/router";
import Koa from "koa";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/koa";

export const backend = new InMemoryBackend({ namespace: "koa-example" });
const api = new HTTPThrottle({ uid: "api", rate: "100/m" });
const data = new HTTPThrottle({ uid: "data", rate: "5/10s" });
const hello = new HTTPThrottle({ uid: "hello", rate: "10/m" });

export const app = new Koa();
app.use(
  ThrottleMiddleware({
    backend,
    middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })],
  }),
);

const router = new Router();
router.get("/api/data", throttled(data), (ctx) => {
  ctx.body = { message: "Success" };
});
router.get("/api/hello", async (ctx) => {
  await hello.hit(ctx); // throws ConnectionThrottled (status 429, Retry-After) when over the limit
  ctx.body = { message: "Hello World" };
});
app.use(router.routes());

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const server = app.listen(Number(process.env.PORT ?? 3000), () =>
    console.log(`Koa example on http://localhost:${process.env.PORT ?? 3000}/api/data`),
  );
  server.on("close", () => backend.close());
}
