/**
 * What the Socket.IO tests share: a real Socket.IO server on a loopback port, clients of the
 * real `socket.io-client`, and small helpers over them.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import { type Socket as ClientSocket, io as connect } from "socket.io-client";
import type { EventGuard } from "traffik/socket.io";

/** A Socket.IO server on a loopback port, and every client opened against it. */
export class IoServer {
  readonly io: Server;
  readonly guards: EventGuard[] = [];
  private readonly http = createServer();
  private readonly clients: ClientSocket[] = [];
  url = "";

  constructor(setup: (io: Server, server: IoServer) => void) {
    this.io = new Server(this.http);
    setup(this.io, this);
  }

  async start(): Promise<void> {
    this.http.listen(0, "127.0.0.1");
    await once(this.http, "listening");
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** A client on the WebSocket transport, reconnecting only when told to. */
  client(namespace = "/"): ClientSocket {
    const client = connect(`${this.url}${namespace}`, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    this.clients.push(client);
    return client;
  }

  async connected(namespace = "/"): Promise<ClientSocket> {
    const client = this.client(namespace);
    await next(client, "connect");
    return client;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    await this.io.close();
  }
}

/** The arguments of the client's next `event`. */
export function next(client: ClientSocket, event: string): Promise<unknown[]> {
  return new Promise((resolve) => client.once(event, (...args: unknown[]) => resolve(args)));
}

export const burst = (n: number) => Array.from({ length: n }, (_, i) => `m${i}`);

/** Emits every message with an acknowledgement and collects the answers, in order. */
export function emitAll(client: ClientSocket, event: string, messages: readonly string[]) {
  return Promise.all(messages.map((m) => client.emitWithAck(event, m) as Promise<unknown>));
}

/** The loopback client as the default identifier sees it, for peeking at its counters. */
export const loopbackClient = { handshake: { address: "127.0.0.1" } } as Socket;
