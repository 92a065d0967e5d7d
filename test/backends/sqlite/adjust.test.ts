/** Penalties, rewards and bans on an SQLite file: one writing transaction each. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SQLiteBackend } from "../../../src/backends/sqlite/index.js";
import { adjustChecks, assertAdjustmentsAcrossFourProcesses } from "../shared-adjust-checks.js";

describe("penalty, reward and block on SQLiteBackend", () => {
  let dir: string;
  let path: string;
  let backend: SQLiteBackend;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "traffik-sqlite-adjust-"));
    path = join(dir, "limits.db");
    backend = new SQLiteBackend({ path, namespace: "adjust-race" });
    await backend.initialize();
  });
  after(async () => {
    await backend?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, check] of adjustChecks) it(name, () => check(backend));

  it("loses nothing across four OS processes", async () => {
    await assertAdjustmentsAcrossFourProcesses("sqlite", path, backend);
  });
});
