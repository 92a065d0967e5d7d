/**
 * Preloaded (`--import`) into a documentation block the docs test runs: a server the block
 * starts on a fixed port (`listen(3000)`) listens on a free port instead, the port is reported
 * to the test over IPC, and the test's "close" message closes every such server, so the block's
 * process must then end on its own. A server on port 0 is the block's own to close (a test in
 * the testing guide), and is left alone.
 */
import type { Server as HttpServer } from "node:http";
import { type AddressInfo, Server } from "node:net";

const servers = new Set<Server>();
const listen = Server.prototype.listen;

function close(): void {
  for (const server of servers) {
    server.close();
    (server as HttpServer).closeAllConnections?.();
  }
  process.disconnect?.();
}

Server.prototype.listen = function listenOnFreePort(this: Server, ...args: unknown[]) {
  const first = args[0];
  const port =
    typeof first === "object" && first !== null ? (first as { port?: unknown }).port : first;
  if (port === undefined || port === 0 || port === "0") return listen.apply(this, args as never);
  servers.add(this);
  args[0] = typeof first === "object" && first !== null ? { ...first, port: 0 } : 0;
  this.once("listening", () => {
    // Listening for the test's word only now: an idle IPC channel would keep a block alive.
    if (servers.size === 1) process.on("message", (message) => message === "close" && close());
    process.send?.({ port: (this.address() as AddressInfo).port });
  });
  return listen.apply(this, args as never);
} as Server["listen"];
