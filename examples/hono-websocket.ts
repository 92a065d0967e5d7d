/**
 * WebSockets on Hono with @hono/node-server's upgradeWebSocket: the handshake throttled by a
 * route middleware (refused with 429 before the upgrade), messages throttled per socket.
 * Run it with `npx tsx examples/hono-websocket.ts`.
 */
import { pathToFileURL } from "node:url";
import { serve, upgradeWebSocket } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ThrottleMiddleware, throttled } from "traffik/hono";
import { guardMessages, type MessageGuard } from "traffik/ws";
import { WebSocketServer } from "ws";

const backend = new InMemoryBackend({ namespace: "hono-ws-example" });
const handshakes = new WebSocketThrottle<Context>({ uid: "handshakes", rate: "10/m" });
const messages = new WebSocketThrottle<Context>({ uid: "messages", rate: "3/10s" });

export const app = new Hono();
app.use(ThrottleMiddleware({ backend }));

app.get(
  "/chat",
  throttled(handshakes),
  upgradeWebSocket((c) => {
    let guard: MessageGuard<MessageEvent> | undefined;
    return {
      onOpen(_event, ws) {
        guard = guardMessages({
          connection: c,
          socket: ws,
          throttles: messages,
          onMessage: (event) =>
            ws.send(JSON.stringify({ status: "success", data: String(event.data) })),
        });
      },
      onMessage: (event) => guard?.push(event),
      onClose: () => guard?.close(),
    };
  }),
);

/** Starts the app with WebSocket support on `port` (0: any free port). */
export function start(port: number, onListening?: (port: number) => void) {
  return serve(
    {
      fetch: app.fetch,
      port,
      hostname: "127.0.0.1",
      websocket: { server: new WebSocketServer({ noServer: true }) },
    },
    (info) => onListening?.(info.port),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const server = start(Number(process.env.PORT ?? 3000), (port) =>
    console.log(`Hono WebSocket example on ws://localhost:${port}/chat`),
  );
  server.on("close", () => backend.close());
}
