import { after, before, describe, it } from "node:test";
import { PostgresBackend } from "../../../src/backends/postgres/index.js";
import { allStrategies } from "../../strategies/harness.js";
import {
  type PostgresServer,
  postgresBinaries,
  startPostgres,
} from "../../support/postgres-server.js";
import { assertSameDecisions } from "../shared-checks.js";

const bin = postgresBinaries();
const FIELDS = ["allowed", "remaining", "retryAfterMs", "resetAfterMs", "delayMs"] as const;

describe("the PL/pgSQL mirrors decide exactly as the TypeScript strategies", { skip: !bin }, () => {
  let server: PostgresServer;
  let now = 0;
  let backend: PostgresBackend;

  before(async () => {
    server = await startPostgres(bin as string);
    // The test-only clock: both sides see the same `now`. A deadline no stall of a loaded
    // machine reaches: this compares decisions, it does not time them.
    backend = new PostgresBackend({
      connection: server.url,
      namespace: "parity",
      clock: () => now,
      timeoutMs: 60_000,
    });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    await server?.stop();
  });

  for (const strategy of allStrategies()) {
    for (const via of ["alone", "group", "batch"] as const) {
      it(`${strategy.name}: same decisions over random traces, ${via}, on an injected clock`, () =>
        assertSameDecisions(
          backend,
          strategy,
          (at) => {
            now = at;
          },
          FIELDS,
          via === "alone" ? 30 : 10,
          via,
        ));
    }
  }
});
