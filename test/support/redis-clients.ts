/**
 * The Redis client libraries the Redis backend's tests run over: ioredis, and node-redis (the
 * `redis` package) of its current major and the two before, as their users would configure
 * them. `TRAFFIK_REDIS_CLIENTS` (comma-separated names) narrows the list for a quick run.
 */
import { Cluster, Redis } from "ioredis";
import * as redis6 from "redis";
import * as redis4 from "redis4";
import * as redis5 from "redis5";
import type { NodeRedisClient, RedisClient } from "../../src/backends/redis/client-link.js";
import { RedisBackend, type RedisBackendOptions } from "../../src/backends/redis/index.js";

export type ClientName = "ioredis" | "node-redis 6" | "node-redis 5" | "node-redis 4";

/** One client library: how to make its single-node and cluster clients, and close them. */
export interface ClientKind {
  readonly name: ClientName;
  /** A client of `url`, not yet connected (the backend connects it), offline queue off. */
  client(url: string): RedisClient;
  /** A cluster client of the masters `nodes`, not yet connected, offline queue off. */
  cluster(nodes: readonly { host: string; port: number }[]): RedisClient;
  /** Lets go of a client made by `client` or `cluster`, whatever its state. */
  close(client: RedisClient): Promise<void>;
}

/** Reconnects quickly, as the backend's own ioredis client does. */
const reconnectStrategy = (attempt: number) => Math.min(50 * (attempt + 1), 500);
const quiet = () => {};

/** node-redis of one major: `createClient` and `createCluster` of that copy of the package. */
function nodeRedis(
  name: ClientName,
  lib: {
    createClient: (...args: never[]) => unknown;
    createCluster: (...args: never[]) => unknown;
  },
): ClientKind {
  // The majors' option types differ in their generics only: one shape serves them all.
  const createClient = lib.createClient as (options: object) => NodeRedisClient;
  const createCluster = lib.createCluster as (options: object) => NodeRedisClient;
  const socket = { connectTimeout: 2000, reconnectStrategy };
  return {
    name,
    client: (url) => {
      const client = createClient({ url, disableOfflineQueue: true, socket });
      client.on("error", quiet); // without a listener, a connection error throws
      return client;
    },
    cluster: (nodes) => {
      const cluster = createCluster({
        rootNodes: nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
        defaults: { disableOfflineQueue: true, socket },
      });
      cluster.on("error", quiet);
      return cluster;
    },
    close: async (client) => {
      const shape = client as { destroy?: () => void; disconnect?: () => Promise<void> };
      if (typeof shape.destroy === "function") shape.destroy();
      else await shape.disconnect?.().catch(quiet);
    },
  };
}

const ioredis: ClientKind = {
  name: "ioredis",
  client: (url) => new Redis(url, { lazyConnect: true, enableOfflineQueue: false }),
  cluster: (nodes) => new Cluster([...nodes], { enableOfflineQueue: false }),
  close: async (client) => (client as Redis | Cluster).disconnect(),
};

const everyKind: readonly ClientKind[] = [
  ioredis,
  nodeRedis("node-redis 6", redis6),
  nodeRedis("node-redis 5", redis5),
  nodeRedis("node-redis 4", redis4),
];

const chosen = process.env.TRAFFIK_REDIS_CLIENTS?.split(",").map((name) => name.trim());

/** The client libraries to test over. */
export const clientKinds: readonly ClientKind[] = everyKind.filter(
  (kind) => chosen === undefined || chosen.includes(kind.name),
);

/** The client library named `name` (for a worker process told it by argument). */
export function clientKind(name: string): ClientKind {
  const kind = everyKind.find((k) => k.name === name);
  if (kind === undefined) throw new Error(`no Redis client kind named ${JSON.stringify(name)}`);
  return kind;
}

/** A backend that lets go of its own client when it closes, as it does of one made from a URL. */
class ClosingBackend extends RedisBackend {
  constructor(
    options: RedisBackendOptions,
    private readonly release: () => Promise<void>,
  ) {
    super(options);
  }

  protected override async shutdown(): Promise<void> {
    try {
      await super.shutdown();
    } finally {
      await this.release();
    }
  }
}

/**
 * A backend on `url` through `kind`'s client: for ioredis, the URL itself (the backend makes
 * and owns its client); for node-redis, a client made here and closed with the backend.
 */
export function backendOn(
  kind: ClientKind,
  url: string,
  options: Omit<RedisBackendOptions, "connection"> = {},
): RedisBackend {
  if (kind.name === "ioredis") return new RedisBackend({ ...options, connection: url });
  return givenClientBackendOn(kind, url, options);
}

/** A backend on `url` through a client of `kind` made here, as an app gives its own; closed with it. */
export function givenClientBackendOn(
  kind: ClientKind,
  url: string,
  options: Omit<RedisBackendOptions, "connection"> = {},
): RedisBackend {
  const client = kind.client(url);
  return new ClosingBackend({ ...options, connection: client }, () => kind.close(client));
}

/** A backend on the cluster of `nodes` through `kind`'s cluster client, closed with it. */
export function clusterBackendOn(
  kind: ClientKind,
  nodes: readonly { host: string; port: number }[],
  options: Omit<RedisBackendOptions, "connection"> = {},
): RedisBackend {
  const client = kind.cluster(nodes);
  return new ClosingBackend({ ...options, connection: client }, () => kind.close(client));
}
