/**
 * A closed backend keeps no timer and no connection: the one timer its deadlines share stays armed after the last
 * call settles, and with a long `timeoutMs` it would hold a finished process that long.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RedisBackend } from "../../../src/backends/redis/index.js";
import { HTTPThrottle, tryHitAll } from "../../../src/index.js";
import { hasBinary, startRedis } from "../../support/servers.js";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("closing a Redis backend", { skip: !hasBinary("redis-server"), timeout: 60_000 }, () => {
  it("leaves none of its deadlines' timers, after lone and group decisions alike", async (t) => {
    const server = await startRedis();
    t.after(() => server.stop());
    const before = timers();
    const backend = new RedisBackend({
      connection: server.url,
      namespace: "timers",
      timeoutMs: 600_000,
    });
    const throttle = (uid: string) =>
      new HTTPThrottle<string>({ uid, rate: "5/h", backend, identifier: (c) => c });
    const [one, other] = [throttle("one"), throttle("other")];
    await one.tryHit("c");
    await tryHitAll([one, other], "c");
    assert.ok(timers() > before, "the deadlines armed a timer: the check below can fail");
    await backend.close();
    assert.equal(timers(), before);
  });
});

describe("closing a Redis backend while it starts", {
  skip: !hasBinary("redis-server"),
  timeout: 60_000,
}, () => {
  it("lets go of the client it was making from a URL", async (t) => {
    const server = await startRedis();
    t.after(() => server.stop());
    const sockets = () =>
      process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    await new Promise((resolve) => setTimeout(resolve, 200)); // the start's own probe closes
    const before = sockets();
    const backend = new RedisBackend({ connection: server.url, namespace: "closing" });
    const starting = backend.ready();
    await backend.close();
    await starting?.catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(sockets(), before, "no connection to Redis is left open");
  });
});
