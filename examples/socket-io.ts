/**
 * The Quick Start's WebSocket section on Socket.IO: connections limited per client (refused
 * with `connect_error`, the wait in `error.data`), events limited per socket (a throttled
 * event's acknowledgement gets a rate_limit answer; the socket stays connected).
 * Run it with `npx tsx examples/socket-io.ts`.
 */
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { Server, type Socket } from "socket.io";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { throttleEvents, throttleHandshake } from "traffik/socket.io";

const backend = new InMemoryBackend({ namespace: "socket-io-example" });
// Typed with Socket.IO's Socket: the throttles see it (an identifier may read socket.data).
const connections = new WebSocketThrottle<Socket>({ uid: "connections", rate: "10/m", backend });
const messages = new WebSocketThrottle<Socket>({ uid: "messages", rate: "3/10s", backend });

export const server = createServer();
export const io = new Server(server);

io.use(throttleHandshake(connections)); // refused: connect_error, error.data.retryAfterMs
io.on("connection", (socket) => {
  throttleEvents(socket, {
    throttles: messages,
    onThrottled: "error", // or "drop", or "disconnect"
  });
  socket.on("chat", (text: string, ack?: (reply: unknown) => void) => {
    ack?.({ status: "success", data: text });
  });
});

server.on("close", () => backend.close());

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  server.listen(Number(process.env.PORT ?? 3000), () =>
    console.log(`Socket.IO example on http://localhost:${process.env.PORT ?? 3000}`),
  );
}
