/**
 * The decision path's commands (`gets`, `add`, `cas`), written on a socket corked until the end
 * of the tick: every command the tick sends on one connection leaves in one `writev`, where
 * `memcache-client`'s own methods make one `write` system call each.
 *
 * Why (bench/prof-mc.ts, fixed window, 64 in flight, 10 000 keys, before this file): the two
 * `write` calls per decision were 33% of this process's CPU (`writeBuffer` 18.9%,
 * `writeUtf8String` 14.6% of the profile); process CPU 62–67 µs per decision against
 * `RateLimiterMemcache`'s 40. The figures after are in CONTRIBUTING.md ("Memcached: corked
 * commands").
 *
 * The commands still go through the client's `send`, so its connection pool, reply parsing,
 * command timeout and reconnects are the same as for its own methods; nothing is sent later
 * than the tick that asked for it, before any timer (a deadline included) can fire.
 */
import type { Socket } from "node:net";

/** The slice of a `memcache-client` MemcacheClient that sends a command of our own. */
export interface RawSender {
  send<T>(data: (socket?: Socket) => void, options?: object): Promise<T>;
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

/**
 * `add` (when `casUniq` is undefined) or `cas` of a string `value` with flags 0, as
 * `memcache-client` stores a string. A refusal (`EXISTS`, `NOT_FOUND`, `NOT_STORED`) rejects
 * as the client's own methods do.
 */
export function corkedStore(
  client: RawSender,
  key: string,
  value: string,
  lifetime: number,
  casUniq: string | number | undefined,
): Promise<unknown> {
  const bytes = Buffer.byteLength(value);
  const line =
    casUniq === undefined
      ? `add ${key} 0 ${lifetime} ${bytes}\r\n`
      : `cas ${key} 0 ${lifetime} ${bytes} ${casUniq}\r\n`;
  return client.send(writer(`${line}${value}\r\n`));
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
