/**
 * The Quick Start's WebSocket section on `ws`: handshakes limited per client (refused with 429),
 * messages limited per socket (answered with a rate_limit error, the socket stays open).
 * Run it with `npx tsx examples/ws.ts`.
 */
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { throttleMessages, throttleUpgrade } from "traffik/ws";
import { WebSocketServer } from "ws";

const backend = new InMemoryBackend({ namespace: "ws-example" });
const handshakes = new WebSocketThrottle({ uid: "handshakes", rate: "10/m", backend });
const messages = new WebSocketThrottle({ uid: "messages", rate: "3/10s", backend });

export const server = createServer();
const wss = new WebSocketServer({ noServer: true });
const admitUpgrade = throttleUpgrade(handshakes);

server.on("upgrade", async (request, socket, head) => {
  if (!(await admitUpgrade(request, socket))) return; // answered 429 with Retry-After
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
});

wss.on("connection", (ws, request) => {
  throttleMessages(ws, request, {
    throttles: messages,
    onThrottled: "error", // or "drop", or "close" with closeCode 1008 / 1013
    onMessage: (data) => ws.send(JSON.stringify({ status: "success", data: String(data) })),
  });
});

server.on("close", () => backend.close());

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  server.listen(Number(process.env.PORT ?? 3000), () =>
    console.log(`ws example on ws://localhost:${process.env.PORT ?? 3000}`),
  );
}
