/**
 * The decision path's commands (`gets`, then `add` or `cas` with a `gets` behind), written on a socket corked until the end
 * of the tick: every command the tick sends on one connection leaves in one `writev`, where
 * `memcache-client`'s own methods make one `write` system call each.
 *
 * Why (`node --cpu-prof`, fixed window, 64 in flight, 10 000 keys, before this file): the two
 * `write` calls per decision were 33% of this process's CPU (`writeBuffer` 18.9%,
 * `writeUtf8String` 14.6% of the profile); process CPU 62–67 µs per decision against
 * `RateLimiterMemcache`'s 40. After: 33–35 µs, and memcached's own 27–29 → 10–11 µs
 * (CONTRIBUTING.md, "Memcached: corked commands and known states").
 *
 * The commands still go through the client's `send`, so its connection pool, reply parsing,
 * command timeout and reconnects are the same as for its own methods; nothing is sent later
 * than the tick that asked for it, before any timer (a deadline included) can fire.
 */
import type { Socket } from "node:net";

/** One pooled connection of a `memcache-client` client; ready until it closes. */
export interface PooledConnection {
  isReady(): boolean;
}

/**
 * The slice of a `memcache-client` MemcacheClient that sends commands of our own: `send`, and,
 * to put two commands on one connection in order, its pool (`_servers.doCmd`, which connects
 * and reconnects) and `_send`, both declared public in its types.
 */
export interface RawSender {
  send<T>(data: (socket?: Socket) => void, options?: object): Promise<T>;
  _servers: {
    doCmd(action: (connection: PooledConnection) => Promise<unknown>): Promise<unknown> | undefined;
  };
  _send(
    connection: PooledConnection,
    data: (socket?: Socket) => void,
    options: object,
  ): Promise<unknown>;
}

/** What `gets` found for one key: its value and CAS token. */
export interface Found {
  readonly value: unknown;
  readonly casUniq: string | number;
}

/** `gets key`: the value and CAS token, or `undefined` when missing. */
export async function corkedGets(client: RawSender, key: string): Promise<Found | undefined> {
  const results = await client.send<Record<string, Found>>(writer(`gets ${key}\r\n`));
  return results[key];
}

function storeWriter(
  key: string,
  value: string,
  lifetime: number,
  casUniq: string | number | undefined,
): (socket?: Socket) => void {
  const bytes = Buffer.byteLength(value);
  const line =
    casUniq === undefined
      ? `add ${key} 0 ${lifetime} ${bytes}\r\n`
      : `cas ${key} 0 ${lifetime} ${bytes} ${casUniq}\r\n`;
  return writer(`${line}${value}\r\n`);
}

/** What a `gets` sent behind a write saw, and the connection it came on. */
export interface Seen {
  readonly found: Found | undefined;
  readonly connection: PooledConnection;
}

/**
 * `add` (when `casUniq` is undefined) or `cas` of a string `value` with flags 0, as
 * `memcache-client` stores a string, then `gets` of the same key on the same connection in the same `writev`:
 * memcached runs a connection's commands in order, so the `gets` sees the key as the write left
 * it (or as a later writer did), with its new CAS token, at no extra round trip. Resolves or
 * rejects with the write's own answer (a refusal, `EXISTS`, `NOT_FOUND` or `NOT_STORED`, as
 * the client's own methods reject); `onSeen` gets what the `gets` saw, or `undefined` if it
 * failed, which never fails the write.
 */
export function corkedStoreThenGets(
  client: RawSender,
  key: string,
  value: string,
  lifetime: number,
  casUniq: string | number | undefined,
  onSeen: (seen: Seen | undefined) => void,
): Promise<unknown> {
  const sending = client._servers.doCmd((connection) => {
    const stored = client._send(connection, storeWriter(key, value, lifetime, casUniq), {});
    client._send(connection, writer(`gets ${key}\r\n`), {}).then(
      (results) => onSeen({ found: (results as Record<string, Found>)[key], connection }),
      () => onSeen(undefined),
    );
    return stored;
  });
  return sending ?? Promise.reject(new Error("memcache-client sent nothing"));
}

function writer(text: string): (socket?: Socket) => void {
  return (socket) => {
    if (socket === undefined) return;
    if (socket.writableCorked === 0) {
      socket.cork();
      process.nextTick(uncork, socket);
    }
    socket.write(text);
  };
}

function uncork(socket: Socket): void {
  socket.uncork();
}
