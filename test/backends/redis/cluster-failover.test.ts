import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisBackend, type RedisClient } from "../../../src/backends/redis/index.js";
import { assertHandedBack, killUnderTraffic } from "../../support/failover-run.js";
import {
  type ReplicatedCluster,
  startReplicatedCluster,
} from "../../support/failover-topologies.js";
import { hotKey } from "../../support/failover-traffic.js";
import { clientKinds } from "../../support/redis-clients.js";
import { hasBinary } from "../../support/servers.js";

const enabled = hasBinary("redis-server") && hasBinary("redis-cli");

for (const kind of clientKinds)
  describe(`RedisBackend on a Redis Cluster of 3 masters and 3 replicas, through ${kind.name}`, {
    skip: !enabled,
  }, () => {
    let cluster: ReplicatedCluster;
    const clients: RedisClient[] = [];
    /**
     * A cluster client as the README advises: no offline queue; ioredis's is connecting as soon
     * as it is made, node-redis's once connected.
     */
    const connecting = () => {
      const client = kind.cluster(cluster.nodes);
      clients.push(client);
      return client;
    };

    before(async () => {
      cluster = await startReplicatedCluster();
    });
    after(async () => {
      for (const client of clients) await kind.close(client);
      await cluster?.stop();
    });

    it("initialize() waits for a cluster client that is still connecting, or connects it", async () => {
      const client = connecting();
      const status = () =>
        "status" in client ? client.status : (client as { isOpen: boolean }).isOpen;
      assert.equal(status(), kind.name === "ioredis" ? "connecting" : false);
      const backend = new RedisBackend({ connection: client, namespace: "init" });
      await backend.initialize();
      assert.equal(status(), kind.name === "ioredis" ? "ready" : true);
    });

    it("decides in-process while a master fails over, each client within its limit, and hands back", async () => {
      const backend = new RedisBackend({ connection: connecting(), namespace: "failover" });
      await backend.initialize();
      const hot = hotKey("failover");
      const figures = await killUnderTraffic(
        backend,
        () => cluster.killMasterOf(hot),
        (dead) => cluster.keptByReplica(hot, dead),
        (dead) => cluster.failedOver(hot, dead),
        30_000,
      );
      const report = assertHandedBack(figures);
      // Each node's outage began once and ended once.
      assert.ok(figures.begun.size > 0, report);
      for (const [node, begun] of figures.begun) {
        assert.equal(begun, 1, `${node}: ${report}`);
        assert.equal(figures.ended.get(node), 1, `${node}: ${report}`);
      }
      console.log("cluster failover figures", report);
    });
  });
