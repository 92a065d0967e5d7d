/**
 * Failover under traffic, as production Redis fails: a master of a 3 + 3 Cluster killed, a
 * Sentinel group's master killed, a single server killed and started again (empty) 3 s later.
 * ~100 decisions/s over 50 clients, plus a hot client at 100/s (limit 30) from the kill on, all
 * with default options. Prints, per topology: its own failover time, when decisions came from
 * Redis again, what was decided meanwhile and where, the hot client's admissions, any request
 * counted by Redis after it was answered without it, and the outage warnings. Exit code 1 if a
 * bound is broken: back on Redis within twice the failover time, the hot client at most its
 * limit in degraded mode, no decision by onError, no ghost count, each outage warned once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Cluster, Redis } from "ioredis";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { stateKey } from "../../src/backends/redis/keys.js";
import {
  type FailoverFigures,
  HOT_LIMIT,
  killUnderTraffic,
} from "../../test/support/failover-run.js";
import {
  SENTINEL_MASTER,
  startReplicatedCluster,
  startSentinelGroup,
} from "../../test/support/failover-topologies.js";
import { startRedis } from "../../test/support/servers.js";

const BOUND_MS = 20_000;
const hotKey = (namespace: string) => `${namespace}:${stateKey("hot", "hot-client")}`;

function report(topology: string, figures: FailoverFigures): void {
  const broken: string[] = [];
  if (figures.recoveredMs > 2 * figures.failoverMs) broken.push("back on Redis too late");
  if (figures.hotAdmittedDegraded > HOT_LIMIT) broken.push("hot client past its limit in-process");
  if (Object.keys(figures.bySource).some((s) => s !== "backend" && s !== "degraded"))
    broken.push("decided by onError or thrown");
  if (figures.ghosts.length > 0) broken.push(`ghost counts: ${figures.ghosts.join("; ")}`);
  for (const [node, begun] of figures.begun) {
    if (begun !== 1 || figures.ended.get(node) !== 1) broken.push(`warnings of ${node || "it"}`);
  }
  console.log(
    `${topology.padEnd(22)} failover ${ms(figures.failoverMs)}, back on Redis ${ms(figures.recoveredMs)}, ` +
      `decided ${JSON.stringify(figures.bySource)}, hot admitted ${figures.hotAdmitted} ` +
      `(${figures.hotAdmittedDegraded} in-process; limit ${HOT_LIMIT}), ghosts ${figures.ghosts.length}, ` +
      `outages ${[...figures.begun.values()].reduce((a, b) => a + b, 0)} begun / ` +
      `${[...figures.ended.values()].reduce((a, b) => a + b, 0)} ended, latency p99 ${ms(figures.p99Ms)}, slowest ${ms(figures.slowestMs)}` +
      (broken.length > 0 ? `  BROKEN: ${broken.join(", ")}` : ""),
  );
  if (broken.length > 0) process.exitCode = 1;
}

const ms = (value: number) => `${Math.round(value)} ms`;
const quiet = <T extends { on(event: "error", listener: () => void): unknown }>(client: T): T => {
  client.on("error", () => {});
  return client;
};

async function cluster(): Promise<void> {
  const topology = await startReplicatedCluster();
  const client = quiet(new Cluster([...topology.nodes], { enableOfflineQueue: false }));
  try {
    const backend = new RedisBackend({ connection: client, namespace: "fo" });
    await backend.initialize();
    const figures = await killUnderTraffic(
      backend,
      () => topology.killMasterOf(hotKey("fo")),
      (dead) => topology.keptByReplica(hotKey("fo"), dead),
      (dead) => topology.failedOver(hotKey("fo"), dead),
      BOUND_MS,
    );
    report("cluster 3+3", figures);
  } finally {
    client.disconnect();
    await topology.stop();
  }
}

async function sentinel(): Promise<void> {
  const group = await startSentinelGroup();
  const client = quiet(
    new Redis({
      sentinels: [...group.sentinels],
      name: SENTINEL_MASTER,
      enableOfflineQueue: false,
      // As the README advises: reconnect within half a second (ioredis's default backs off to 2 s).
      retryStrategy: (attempt) => Math.min(50 * attempt, 500),
    }),
  );
  try {
    const backend = new RedisBackend({ connection: client, namespace: "fo" });
    await backend.initialize();
    const figures = await killUnderTraffic(
      backend,
      () => group.killMaster(),
      (dead) => group.keptByReplica(hotKey("fo"), dead),
      (dead) => group.failedOver(dead),
      BOUND_MS,
    );
    report("sentinel 1+1, 3 watch", figures);
  } finally {
    client.disconnect();
    await group.stop();
  }
}

async function restart(): Promise<void> {
  const server = await startRedis();
  const backend = new RedisBackend({ connection: server.url, namespace: "fo" });
  try {
    await backend.initialize();
    const figures = await killUnderTraffic(
      backend,
      async () => {
        await server.kill();
        return server.port;
      },
      // A restarted server keeps nothing.
      async () => null,
      async () => {
        await sleep(3000);
        await server.start();
      },
      BOUND_MS,
    );
    report("restart after 3 s", figures);
  } finally {
    await backend.close().catch(() => {});
    await server.stop();
  }
}

process.removeAllListeners("warning");
await cluster();
await sentinel();
await restart();
