/**
 * An echo server for bench/ws.ts: `tsx bench/ws-server.ts <variant>`, variant bare | throttled
 * (every message through `throttleMessages`, in-memory fixed window, a limit far above the load).
 * Prints its port; on SIGUSR2 prints its counters (messages served, CPU time).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { throttleMessages } from "traffik/ws";
import { WebSocketServer } from "ws";
import { reportCounters } from "./server-counters.js";

const variant = process.argv[2];
const backend = new InMemoryBackend({ namespace: "bench-ws" });
const messages = new WebSocketThrottle({ uid: "messages", rate: "1000000000/m", backend });
let count = 0;

const server = createServer();
const wss = new WebSocketServer({ server });
wss.on("connection", (ws, request) => {
  const echo = (data: unknown) => {
    count++;
    ws.send(data as Buffer);
  };
  if (variant === "throttled") {
    throttleMessages(ws, request, { throttles: messages, onMessage: echo });
  } else {
    ws.on("message", echo);
  }
});

server.listen(0, "127.0.0.1", () => {
  console.log(JSON.stringify({ port: (server.address() as AddressInfo).port }));
});
reportCounters(() => count);
