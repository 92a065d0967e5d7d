/** Penalties, rewards and bans on a real PostgreSQL: a transaction under the key's advisory lock. */
import { after, before, describe, it } from "node:test";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";
import { adjustChecks, assertAdjustmentsAcrossFourProcesses } from "../shared-adjust-checks.js";

const bin = postgresBinaries();

describe("penalty, reward and block on PostgresBackend", { skip: !bin }, () => {
  let server: PostgresServer;
  let backend: PostgresBackend;
  before(async () => {
    server = await startPostgres(bin as string);
    backend = new PostgresBackend({
      connection: server.url,
      namespace: "adjust-race",
      // Seventy calls on one key take turns for its lock, each a transaction.
      timeoutMs: 10_000,
    });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await server?.stop();
  });

  for (const [name, check] of adjustChecks) it(name, () => check(backend));

  it("loses nothing across four OS processes", async () => {
    await assertAdjustmentsAcrossFourProcesses("postgres", server.url, backend);
  });
});
