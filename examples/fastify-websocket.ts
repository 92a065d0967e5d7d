/**
 * WebSockets on Fastify with @fastify/websocket: the handshake throttled by an `onRequest` hook
 * (refused with 429 before the upgrade), messages throttled per socket.
 * Run it with `npx tsx examples/fastify-websocket.ts`.
 */
import { pathToFileURL } from "node:url";
import fastifyWebsocket from "@fastify/websocket";
import Fastify, { type FastifyRequest } from "fastify";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ThrottleMiddleware, throttled } from "traffik/fastify";
import { throttleMessages } from "traffik/ws";

const backend = new InMemoryBackend({ namespace: "fastify-ws-example" });
const handshakes = new WebSocketThrottle<FastifyRequest>({ uid: "handshakes", rate: "10/m" });
const messages = new WebSocketThrottle<FastifyRequest>({ uid: "messages", rate: "3/10s" });

export const app = Fastify();
await app.register(ThrottleMiddleware, { backend });
await app.register(fastifyWebsocket);

app.get("/chat", { websocket: true, onRequest: throttled(handshakes) }, (socket, request) => {
  throttleMessages(socket, request, {
    throttles: messages,
    onMessage: (data) => socket.send(JSON.stringify({ status: "success", data: String(data) })),
  });
});

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const address = await app.listen({ port: Number(process.env.PORT ?? 3000) });
  console.log(`Fastify WebSocket example on ${address.replace("http", "ws")}/chat`);
}
