/**
 * Attack: four OS processes flood one client's key on one real redis-server (see
 * `_one-key-flood.ts`): Redis batches decisions without queueing them in-process, so none may
 * time out waiting for its turn.
 */
import { startRedis } from "../../test/support/servers.js";
import { floodOneKey } from "./_one-key-flood.js";

process.exitCode = (await floodOneKey("redis", async () => {
  const server = await startRedis();
  return { address: server.url, stop: () => server.stop() };
}))
  ? 0
  : 1;
