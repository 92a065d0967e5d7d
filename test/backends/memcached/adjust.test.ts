/** Penalties, rewards and bans on a real memcached: compare-and-swap, as decisions are made. */
import { after, before, describe, it } from "node:test";
import { MemcachedBackend } from "../../../src/backends/memcached/index.js";
import { hasBinary, type MemcachedServer, startMemcached } from "../../support/servers.js";
import { adjustChecks, assertAdjustmentsAcrossFourProcesses } from "../shared-adjust-checks.js";

describe("penalty, reward and block on MemcachedBackend", { skip: !hasBinary("memcached") }, () => {
  let server: MemcachedServer;
  let backend: MemcachedBackend;
  before(async () => {
    server = await startMemcached();
    backend = new MemcachedBackend({ servers: [server.address], namespace: "adjust-race" });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await server?.stop();
  });

  for (const [name, check] of adjustChecks) it(name, () => check(backend));

  it("loses nothing across four OS processes", async () => {
    await assertAdjustmentsAcrossFourProcesses("memcached", server.address, backend);
  });
});
