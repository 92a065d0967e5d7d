/**
 * Real `http.IncomingMessage`s for the in-memory bench: one keep-alive connection per client,
 * each from its own loopback address (127.0.x.y, all of 127/8 is local on Linux), to a
 * `node:http` server in this process; the server side's request of each connection is kept, as
 * a throttle sees it in an app (its socket's `remoteAddress` is Node's getter).
 */
import { Agent, createServer, type IncomingMessage, request as send } from "node:http";
import type { AddressInfo } from "node:net";

/** What {@link openRequests} gives: the requests, their clients' addresses, and how to close. */
export interface RealRequests {
  readonly requests: readonly IncomingMessage[];
  readonly addresses: readonly string[];
  close(): Promise<void>;
}

/** The loopback address of client `i` (at most 63 750 clients). */
export function clientAddressOf(i: number): string {
  return `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** Opens `count` connections, one request each, and keeps the server side's requests. */
export async function openRequests(count: number): Promise<RealRequests> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    response.end("ok");
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  const agents: Agent[] = [];
  const addresses = Array.from({ length: count }, (_, i) => clientAddressOf(i));
  // A few hundred at a time: the listen backlog stays small.
  for (let start = 0; start < count; start += 256) {
    await Promise.all(
      addresses.slice(start, start + 256).map((localAddress) =>
        new Promise<void>((done, fail) => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          agents.push(agent);
          send({ host: "127.0.0.1", port, localAddress, agent }, (response) => {
            response.resume();
            response.on("end", done);
          })
            .on("error", fail)
            .end();
        }).then(() => undefined),
      ),
    );
  }
  const byAddress = new Map(requests.map((request) => [request.socket.remoteAddress, request]));
  return {
    // In the order of `addresses`, so contender i and request i name the same client.
    requests: addresses.map((address) => byAddress.get(address) as IncomingMessage),
    addresses,
    async close() {
      for (const agent of agents) agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
