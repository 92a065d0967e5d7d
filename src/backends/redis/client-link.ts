import type { Cluster, Redis } from "ioredis";

/**
 * A node-redis client (`createClient`) or cluster (`createCluster`) of the `redis` package, 4.x
 * or later, as {@link RedisBackend} sees it: only what it calls. Typed by shape, not imported,
 * so that neither client library is needed to compile against Traffik.
 */
export interface NodeRedisClient {
  /** Whether `connect()` was called and the client not closed since. */
  readonly isOpen: boolean;
  /** Whether it can take commands now: a client's; a cluster's from 6.x only. */
  readonly isReady?: boolean;
  /** Connects; the backend calls it at `initialize()` for a client not open. */
  connect(): Promise<unknown>;
  /** Sends one command: `(args)` on a client, `(firstKey, isReadonly, args)` on a cluster. */
  sendCommand(...args: never[]): Promise<unknown>;
  /** Listens to `ready`, `error`, `end` (a cluster: `node-ready`, `error`). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Stops listening. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A client {@link RedisBackend} accepts: ioredis's `Redis` or `Cluster`, or a node-redis one. */
export type RedisClient = Redis | Cluster | NodeRedisClient;

/** The script commands, each naming its code then the number of keys, the keys, the arguments. */
export type ScriptCommand = "EVAL" | "EVALSHA" | "FCALL" | "FCALL_RO";

/** Sends one command (its name and arguments) to one server. */
export type NodeSender = (args: readonly string[]) => Promise<unknown>;

/**
 * What the Redis backend needs of its client, whichever library made it: the one place where
 * ioredis and node-redis differ (see `ioredis-link.ts`, `node-redis-link.ts`). Replies are as
 * the server sends them; errors carry the server's message (`NOSCRIPT ...`, `WRONGPASS ...`).
 */
export interface ClientLink {
  /** The client, as given or made. */
  readonly client: RedisClient;
  /** Which library: for messages. */
  readonly library: "ioredis" | "node-redis";
  readonly isCluster: boolean;
  /** `host:port` of the server(s), for messages. */
  readonly address: string;
  /** One command; on a cluster, sent to the master of `key`'s slot. */
  send(args: readonly string[], key: string): Promise<unknown>;
  /** A script or function call; on a cluster, sent to the master of the first key's slot. */
  script(
    command: ScriptCommand,
    code: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown>;
  /** A sender to each master: the server, or every master of a cluster. */
  masters(): Promise<readonly NodeSender[]>;
  /**
   * Resolves once the client can take commands: connects one not connected, waits for one
   * connecting, within `timeoutMs`. Rejects when it gives up, and leaves no listener behind.
   */
  untilReady(timeoutMs: number): Promise<void>;
  /** Calls `listener` on each (re)connection, until the returned function is called. */
  onReady(listener: () => void): () => void;
  /** Calls `listener` with each connection error, until the returned function is called. */
  onError(listener: (error: unknown) => void): () => void;
  /** Lets go of the client politely (QUIT, or its library's close). */
  quit(): Promise<unknown>;
  /** Lets go of the client at once. */
  destroy(): void;
  /** `host:port` of the master that serves `key` as the client knows it now; `""` off a cluster. */
  masterOf(key: string): string;
}
