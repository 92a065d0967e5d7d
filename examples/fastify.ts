/**
 * The Quick Start on Fastify: an app-wide limit on /api/, a tighter one on one route, and a
 * route that calls its throttle itself. Run it with `npx tsx examples/fastify.ts`.
 */
import { pathToFileURL } from "node:url";
import Fastify from "fastify";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/fastify";

export const backend = new InMemoryBackend({ namespace: "fastify-example" });
const api = new HTTPThrottle({ uid: "api", rate: "100/m" });
const data = new HTTPThrottle({ uid: "data", rate: "5/10s" });
const hello = new HTTPThrottle({ uid: "hello", rate: "10/m" });

export const app = Fastify();
// The backend is initialized when the app is ready and closed with it.
await app.register(ThrottleMiddleware, {
  backend,
  middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })],
});

app.get("/api/data", { onRequest: throttled(data) }, async () => ({ message: "Success" }));

app.get("/api/hello", async (request) => {
  await hello.hit(request); // throws ConnectionThrottled: Fastify answers with its status
  return { message: "Hello World" };
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const address = await app.listen({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Fastify example on ${address}/api/data`);
}
