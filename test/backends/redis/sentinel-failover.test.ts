import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { assertHandedBack, HOT_LIMIT, killUnderTraffic } from "../../support/failover-run.js";
import {
  SENTINEL_MASTER,
  type SentinelGroup,
  startSentinelGroup,
} from "../../support/failover-topologies.js";
import { hotKey } from "../../support/failover-traffic.js";
import { hasBinary } from "../../support/servers.js";

const enabled = hasBinary("redis-server");

describe("RedisBackend behind Sentinel (a master, a replica, three sentinels)", {
  skip: !enabled,
}, () => {
  let group: SentinelGroup;
  const clients: Redis[] = [];
  /**
   * A Sentinel client as the README advises: no offline queue, and reconnecting within half a
   * second as a client made from a URL does (ioredis's default backs off up to 2 s, which alone
   * can hold decisions off Redis for that long after the failover); fresh, so still connecting.
   */
  const connecting = (of = group) => {
    const client = new Redis({
      sentinels: [...of.sentinels],
      name: SENTINEL_MASTER,
      enableOfflineQueue: false,
      retryStrategy: (attempt) => Math.min(50 * attempt, 500),
    });
    client.on("error", () => {});
    clients.push(client);
    return client;
  };

  before(async () => {
    group = await startSentinelGroup();
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await group?.stop();
  });

  it("initialize() waits for a Sentinel client that is still connecting", async () => {
    const client = connecting();
    assert.equal(client.status, "connecting");
    const backend = new RedisBackend({ connection: client, namespace: "init" });
    await backend.initialize();
    assert.equal(client.status, "ready");
  });

  it("decides in-process while the sentinels fail the master over, each client within its limit, and hands back", async () => {
    const backend = new RedisBackend({ connection: connecting(), namespace: "failover" });
    await backend.initialize();
    const figures = await killUnderTraffic(
      backend,
      () => group.killMaster(),
      (dead) => group.keptByReplica(hotKey("failover"), dead),
      (dead) => group.failedOver(dead),
      30_000,
    );
    const report = assertHandedBack(figures);
    // The outage (of the whole backend: one master) began once and ended once.
    assert.deepEqual([...figures.begun], [["", 1]], report);
    assert.deepEqual([...figures.ended], [["", 1]], report);
    console.log("sentinel failover figures", report);
  });

  it("admits again, once, the writes a failover loses: the hot client within twice its limit plus those", async () => {
    const lagging = await startSentinelGroup();
    try {
      const backend = new RedisBackend({ connection: connecting(lagging), namespace: "failover" });
      await backend.initialize();
      const figures = await killUnderTraffic(
        backend,
        () => lagging.killMasterAhead(150),
        (dead) => lagging.keptByReplica(hotKey("failover"), dead),
        (dead) => lagging.failedOver(dead),
        30_000,
      );
      const report = assertHandedBack(figures);
      // The hot client's writes of the master's last 150 ms are lost, so twice its limit alone
      // is passed, by exactly those: its limit in-process, and on Redis its limit plus them.
      assert.ok(figures.hotLost > 0, report);
      assert.equal(figures.hotAdmitted, 2 * HOT_LIMIT + figures.hotLost, report);
      console.log("sentinel failover figures, writes lost", report);
    } finally {
      await lagging.stop();
    }
  });
});
