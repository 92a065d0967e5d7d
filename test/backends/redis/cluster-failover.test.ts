import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Cluster } from "ioredis";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { stateKey } from "../../../src/backends/redis/keys.js";
import { HOT_LIMIT, killUnderTraffic } from "../../support/failover-run.js";
import {
  type ReplicatedCluster,
  startReplicatedCluster,
} from "../../support/failover-topologies.js";
import { hasBinary } from "../../support/servers.js";

const enabled = hasBinary("redis-server") && hasBinary("redis-cli");

describe("RedisBackend on a Redis Cluster of 3 masters and 3 replicas", { skip: !enabled }, () => {
  let cluster: ReplicatedCluster;
  const clients: Cluster[] = [];
  /** A Cluster client as the README advises: fresh, so still connecting; no offline queue. */
  const connecting = () => {
    const client = new Cluster([...cluster.nodes], { enableOfflineQueue: false });
    client.on("error", () => {});
    clients.push(client);
    return client;
  };

  before(async () => {
    cluster = await startReplicatedCluster();
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  });

  it("initialize() waits for a Cluster client that is still connecting", async () => {
    const client = connecting();
    assert.equal(client.status, "connecting");
    const backend = new RedisBackend({ connection: client, namespace: "init" });
    await backend.initialize();
    assert.equal(client.status, "ready");
  });

  it("decides in-process while a master fails over, each client within its limit, and hands back", async () => {
    const backend = new RedisBackend({ connection: connecting(), namespace: "failover" });
    await backend.initialize();
    const hotKey = `failover:${stateKey("hot", "hot-client")}`;
    const figures = await killUnderTraffic(
      backend,
      () => cluster.killMasterOf(hotKey),
      (dead) => cluster.failedOver(hotKey, dead),
      30_000,
    );
    const report = JSON.stringify({
      ...figures,
      begun: [...figures.begun],
      ended: [...figures.ended],
    });
    // Decisions come from Redis again within twice the cluster's own failover time.
    assert.ok(figures.recoveredMs <= 2 * figures.failoverMs, report);
    // Meanwhile, Redis or the in-process backend decided: never onError, never a throw.
    assert.deepEqual(
      Object.keys(figures.bySource).filter((s) => s !== "backend" && s !== "degraded"),
      [],
      report,
    );
    assert.ok((figures.bySource.degraded ?? 0) > 0, report);
    // The hot client gets its limit in-process at most once, and once more from Redis.
    assert.ok(figures.hotAdmittedDegraded <= HOT_LIMIT, report);
    assert.ok(figures.hotAdmitted <= 2 * HOT_LIMIT, report);
    // Nothing decided without Redis was counted by it later.
    assert.deepEqual(figures.ghosts, [], report);
    // Each node's outage began once and ended once.
    assert.ok(figures.begun.size > 0, report);
    for (const [node, begun] of figures.begun) {
      assert.equal(begun, 1, `${node}: ${report}`);
      assert.equal(figures.ended.get(node), 1, `${node}: ${report}`);
    }
    console.log("cluster failover figures", report);
  });
});
