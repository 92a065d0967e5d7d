// Over 250 lines: the cluster and the Sentinel group share the raw-protocol helpers at the top.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ask, freePort, type RedisServer, restartable, startRedis, waitFor } from "./servers.js";

/** How long a node may be unreachable before the others fail it over, in ms (Redis: 15 000). */
export const NODE_TIMEOUT_MS = 1500;

export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * The bulk string (`$n\r\n...`, `null` for `$-1`) that ends `text`, after any `+OK`s of
 * commands sent before it; `undefined` until all of it has arrived.
 */
function bulkString(text: string): string | null | undefined {
  const reply = text.replace(/^(\+OK\r\n)+/, "");
  if (reply.startsWith("$-1\r\n")) return null;
  const header = /^\$(\d+)\r\n/.exec(reply);
  const end = (header?.[0].length ?? 0) + Number(header?.[1]);
  if (header === null || reply.length < end + 2) return undefined;
  return reply.slice(header[0].length, end);
}

/** The bulk-string reply to `command` (`null` for none), read until all of it has arrived. */
async function askBulk(port: number, command: string): Promise<string | null> {
  return bulkString(await ask(port, command, (text) => bulkString(text) !== undefined)) ?? null;
}

/** `INFO replication` of the node at `port`. */
const replication = async (port: number) => (await askBulk(port, "INFO replication")) ?? "";

/**
 * `key`'s encoded state on the replica at `port` once it has seen its master go: every write
 * the master sent it has been applied by then (the closed link is read after them), and none
 * can come until it is promoted, so this is what the failover keeps. A cluster replica answers
 * reads only after `READONLY`.
 */
async function keptByReplica(port: number, key: string, readonly = false): Promise<string | null> {
  await waitFor(
    async () => (await replication(port)).includes("master_link_status:down"),
    "the replica to see its master go, before it is promoted",
  );
  return askBulk(port, `${readonly ? "READONLY\r\n" : ""}GET ${key}`);
}

export interface ReplicatedCluster {
  /** All six nodes, as startup nodes for a client. */
  readonly nodes: readonly Address[];
  /** The port of the master that serves `key`'s slot now. */
  masterOf(key: string): Promise<number>;
  /** Kills (SIGKILL) the master that serves `key`'s slot; resolves with its port. */
  killMasterOf(key: string): Promise<number>;
  /** `key`'s encoded state on the replica of the killed master at `deadPort`: what it keeps. */
  keptByReplica(key: string, deadPort: number): Promise<string | null>;
  /** Resolves once another node serves `key`'s slot and the cluster is ok again. */
  failedOver(key: string, deadPort: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts six `redis-server`s and joins them as three masters, each with one replica
 * (`redis-cli --cluster create --cluster-replicas 1`), failing a master over after
 * {@link NODE_TIMEOUT_MS}.
 */
export async function startReplicatedCluster(): Promise<ReplicatedCluster> {
  const servers = await Promise.all(
    Array.from({ length: 6 }, () =>
      startRedis([
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        String(NODE_TIMEOUT_MS),
      ]),
    ),
  );
  const nodes = servers.map((server) => ({ host: "127.0.0.1", port: server.port }));
  const byPort = new Map(servers.map((server) => [server.port, server]));
  const alive = new Set(byPort.keys());
  execFileSync(
    "redis-cli",
    [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ],
    { stdio: "ignore" },
  );
  // Ready once every node sees the cluster ok and every replica has synced with its master.
  await waitFor(async () => {
    for (const port of alive) {
      if (!(await ask(port, "CLUSTER INFO", (r) => r.includes("cluster_state"))).includes("ok"))
        return false;
      const info = await replication(port);
      if (info.includes("role:slave") && !info.includes("master_link_status:up")) return false;
    }
    return true;
  }, "a replicated cluster");
  const masterOf = async (key: string): Promise<number> => {
    const via = [...alive][0] as number;
    const slot = Number(/:(\d+)/.exec(await ask(via, `CLUSTER KEYSLOT ${key}`))?.[1]);
    for (const line of (await askBulk(via, "CLUSTER NODES"))?.split("\n") ?? []) {
      const fields = line.split(" ");
      const [address, flags] = [fields[1], fields[2]];
      const ranges = fields.slice(8);
      if (!flags?.includes("master") || flags.includes("fail")) continue;
      const owns = ranges.some((range) => {
        const [from, to = from] = range.split("-").map(Number);
        return from !== undefined && to !== undefined && slot >= from && slot <= to;
      });
      if (owns) return Number(/:(\d+)@/.exec(address as string)?.[1]);
    }
    return -1;
  };
  return {
    nodes,
    masterOf,
    async killMasterOf(key) {
      const port = await masterOf(key);
      alive.delete(port);
      await byPort.get(port)?.kill();
      return port;
    },
    async keptByReplica(key, deadPort) {
      const nodes = ((await askBulk([...alive][0] as number, "CLUSTER NODES")) ?? "").split("\n");
      const node = (port: number) => nodes.find((line) => line.includes(`:${port}@`))?.split(" ");
      const deadId = node(deadPort)?.[0];
      const replica = [...alive].find((port) => deadId !== undefined && node(port)?.[3] === deadId);
      return keptByReplica(replica ?? -1, key, true);
    },
    async failedOver(key, deadPort) {
      await waitFor(
        async () => {
          const port = await masterOf(key);
          if (port === deadPort || port === -1) return false;
          return (await ask(port, "CLUSTER INFO", (r) => r.includes("cluster_state"))).includes(
            "cluster_state:ok",
          );
        },
        "a replica to take over",
        30_000,
      );
    },
    stop: async () => void (await Promise.all(servers.map((server) => server.stop()))),
  };
}

/** The master's name in the sentinels' configuration. */
export const SENTINEL_MASTER = "traffik";
/** How long the master may be unreachable before the sentinels fail it over, in ms. */
export const DOWN_AFTER_MS = 1000;

export interface SentinelGroup {
  /** The three sentinels, as ioredis's `sentinels` option takes them. */
  readonly sentinels: readonly Address[];
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
  /** Kills (SIGKILL) the master the sentinels name now; resolves with its port. */
  killMaster(): Promise<number>;
  /**
   * Kills the master as {@link killMaster} does, `lagMs` after its replica stopped taking its
   * writes (frozen, its link backed up by a 16 MB value), so that the writes of those `lagMs`
   * die with the master, as asynchronous replication allows; the replica runs again then.
   */
  killMasterAhead(lagMs: number): Promise<number>;
  /** `key`'s encoded state on the replica of the killed master at `deadPort`: what it keeps. */
  keptByReplica(key: string, deadPort: number): Promise<string | null>;
  /** Resolves once the sentinels name another master, and it has taken the role. */
  failedOver(deadPort: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a master, a replica of it and three sentinels (quorum 2) watching it, failing it over
 * after {@link DOWN_AFTER_MS}.
 */
export async function startSentinelGroup(): Promise<SentinelGroup> {
  const master = await startRedis();
  const replica = await startRedis(["--replicaof", "127.0.0.1", String(master.port)]);
  const servers = new Map<number, RedisServer>([
    [master.port, master],
    [replica.port, replica],
  ]);
  const dir = mkdtempSync(join(tmpdir(), "traffik-sentinel-"));
  const sentinels = await Promise.all(
    [0, 1, 2].map(async (i) => {
      const port = await freePort();
      const config = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        config,
        [
          `port ${port}`,
          "bind 127.0.0.1",
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} ${DOWN_AFTER_MS}`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 10000`,
          "",
        ].join("\n"),
      );
      const process = restartable(
        "redis-server",
        [config, "--sentinel"],
        async () => (await ask(port, "PING")).startsWith("+PONG"),
        `redis-sentinel on ${port}`,
      );
      await process.start();
      return { port, process };
    }),
  );
  const masterPort = async (): Promise<number> => {
    for (const { port } of sentinels) {
      const reply = await ask(
        port,
        `SENTINEL get-master-addr-by-name ${SENTINEL_MASTER}`,
        (text) => (text.match(/\r\n/g) ?? []).length >= 5,
      ).catch(() => "");
      const found = /\r\n(\d+)\r\n$/.exec(reply)?.[1];
      if (found !== undefined) return Number(found);
    }
    return -1;
  };
  // Ready once the replica has synced and every sentinel sees the two others and the replica.
  await waitFor(async () => {
    if (!(await replication(replica.port)).includes("master_link_status:up")) return false;
    for (const { port } of sentinels) {
      const quorum = await ask(port, `SENTINEL ckquorum ${SENTINEL_MASTER}`);
      if (!quorum.includes("3 usable")) return false;
      const master = (await askBulk(port, "INFO sentinel")) ?? "";
      if (!master.includes("slaves=1,sentinels=3")) return false;
    }
    return true;
  }, "a sentinel group");
  return {
    sentinels: sentinels.map(({ port }) => ({ host: "127.0.0.1", port })),
    masterPort,
    async killMaster() {
      const port = await masterPort();
      await servers.get(port)?.kill();
      return port;
    },
    async killMasterAhead(lagMs) {
      const port = await masterPort();
      const lagging = [...servers.values()].find((server) => server.port !== port);
      await lagging?.freeze();
      const backlog = "x".repeat(16 * 1024 * 1024);
      await ask(port, `*3\r\n$3\r\nSET\r\n$7\r\nbacklog\r\n$${backlog.length}\r\n${backlog}`);
      await sleep(lagMs);
      await servers.get(port)?.kill();
      lagging?.thaw();
      return port;
    },
    keptByReplica: (key, deadPort) =>
      keptByReplica([...servers.keys()].find((port) => port !== deadPort) ?? -1, key),
    async failedOver(deadPort) {
      await waitFor(
        async () => {
          const port = await masterPort();
          if (port === deadPort || port === -1) return false;
          return (await replication(port)).includes("role:master");
        },
        "the sentinels to fail over",
        30_000,
      );
    },
    async stop() {
      await Promise.all(sentinels.map(({ process }) => process.kill()));
      await Promise.all([...servers.values()].map((server) => server.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
