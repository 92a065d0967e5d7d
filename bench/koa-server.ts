/**
 * One hello-world Koa server for bench/http.ts: `tsx bench/koa-server.ts <variant>`, variant
 * bare | noop (an empty app-wide middleware, the floor for any limiter) | traffik-fixed |
 * traffik-token. Prints its port, then serves until SIGINT; on SIGUSR2 prints its counters
 * (requests, CPU time). Limits are far above the load: this measures what admitting a request
 * costs.
 */
import type { AddressInfo } from "node:net";
import Koa from "koa";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware } from "traffik/koa";
import { FixedWindowStrategy, TokenBucketStrategy } from "traffik/strategies";
import { reportCounters } from "./server-counters.js";

const variant = process.argv[2];
const backend = new InMemoryBackend({ namespace: "bench-koa" });
const throttle = new HTTPThrottle({
  uid: "bench",
  rate: "1000000000/m",
  strategy: variant === "traffik-token" ? new TokenBucketStrategy() : new FixedWindowStrategy(),
});
const hello = { hello: "world" };

const app = new Koa();
if (variant === "noop") app.use((_ctx, next) => next());
if (variant === "traffik-fixed" || variant === "traffik-token") {
  app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(throttle)] }));
}
app.use((ctx) => {
  ctx.body = hello;
});

let requests = 0;
const server = app.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
server.on("request", () => requests++);
reportCounters(() => requests);
