/**
 * An echo server for bench/ws.ts's Socket.IO line: `tsx bench/socket-io-server.ts <variant>`,
 * variant bare | throttled (every event through `throttleEvents`, in-memory fixed window, a
 * limit far above the load). Prints its port; on SIGUSR2 prints its counters (events served, CPU time).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { throttleEvents } from "traffik/socket.io";
import { reportCounters } from "./server-counters.js";

const variant = process.argv[2];
const backend = new InMemoryBackend({ namespace: "bench-socket-io" });
const events = new WebSocketThrottle<Socket>({ uid: "events", rate: "1000000000/m", backend });
let count = 0;

const server = createServer();
const io = new Server(server);
io.on("connection", (socket) => {
  if (variant === "throttled") throttleEvents(socket, { throttles: events });
  socket.on("echo", (data: Buffer) => {
    count++;
    socket.emit("echo", data);
  });
});

server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
reportCounters(() => count);
