import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import {
  BackendConfigurationError,
  BackendConnectionError,
  ConfigurationError,
} from "../../../src/errors.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";

const bin = postgresBinaries();

describe("PostgresBackend's schema and configuration", { skip: !bin }, () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  let backend: PostgresBackend;

  before(async () => {
    server = await startPostgres(bin as string);
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    backend = new PostgresBackend({ connection: server.url, namespace: "t" });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await admin?.end();
    await server?.stop();
  });

  it("creates an UNLOGGED table with the documented columns, and a logged one on request", async (t) => {
    const columns = await admin.query(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = 'traffik_state' ORDER BY ordinal_position`,
    );
    assert.deepEqual(
      columns.rows.map((r) => `${r.column_name} ${r.data_type}`),
      ["key text", "state ARRAY", "value text", "expires_at bigint"],
    );
    const logged = new PostgresBackend({ connection: server.url, table: "kept", logged: true });
    t.after(() => logged.close());
    await logged.initialize();
    const kinds = await admin.query(
      "SELECT relname, relpersistence FROM pg_class WHERE relname IN ('traffik_state', 'kept') ORDER BY relname",
    );
    assert.deepEqual(
      kinds.rows.map((r) => `${r.relname} ${r.relpersistence}`),
      ["kept p", "traffik_state u"],
    );
  });

  it("refuses bad options with typed errors naming them", () => {
    const url = server.url;
    assert.throws(() => new PostgresBackend({ connection: "redis://x" }), ConfigurationError);
    assert.throws(
      () => new PostgresBackend({ connection: url, table: 'x"; DROP' }),
      /table must be 1 to 45 letters/,
    );
    assert.throws(() => new PostgresBackend({ connection: url, poolSize: 0 }), /poolSize/);
    assert.throws(
      () => new PostgresBackend({ connection: url, sweep: { every: 1, rows: -1 } }),
      /sweep.rows/,
    );
    assert.throws(() => new PostgresBackend({ connection: url, tabel: "x" } as never), /table/);
    assert.throws(
      () => new PostgresBackend({ connection: {} as never }),
      BackendConfigurationError,
    );
  });

  it("fails initialize() loudly: a refused role is a configuration error, no server a connection error", async () => {
    await admin.query("CREATE ROLE stranger LOGIN");
    await admin.query("REVOKE ALL ON SCHEMA public FROM PUBLIC");
    const refused = new PostgresBackend({
      connection: server.url.replace("postgres@", "stranger@"),
      table: "stranger_state",
    });
    await assert.rejects(refused.initialize(), BackendConfigurationError);
    await refused.close();
    const port = server.port;
    const nowhere = new PostgresBackend({
      connection: `postgres://postgres@127.0.0.1:${port === 1 ? 2 : 1}/postgres`,
      timeoutMs: 2000,
    });
    await assert.rejects(nowhere.initialize(), BackendConnectionError);
    await nowhere.close();
  });

  it("refuses to decide in a transaction other than READ COMMITTED", async (t) => {
    const pool = new pg.Pool({
      connectionString: server.url,
      options: "-c default_transaction_isolation=serializable",
    });
    t.after(() => pool.end());
    const strict = new PostgresBackend({ connection: pool as never, namespace: "iso" });
    await assert.rejects(strict.initialize(), BackendConfigurationError);
    await strict.close();
  });
});
