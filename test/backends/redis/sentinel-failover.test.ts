import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { assertHandedBack, killUnderTraffic } from "../../support/failover-run.js";
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
  const connecting = () => {
    const client = new Redis({
      sentinels: [...group.sentinels],
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
});
