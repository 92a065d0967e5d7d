import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type Database, openDatabase } from "../../../src/backends/sqlite/driver.js";
import { SQLiteBackend } from "../../../src/backends/sqlite/index.js";
import { BackendConfigurationError, ConfigurationError } from "../../../src/errors.js";
import { tryHitAll } from "../../../src/throttles/all-or-nothing.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";

const run = promisify(execFile);

describe("SQLiteBackend while another connection holds the write lock", () => {
  let dir: string;
  let backend: SQLiteBackend;
  /** Another process's connection, as far as SQLite can tell. */
  let holder: Database;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "traffik-sqlite-"));
    const path = join(dir, "locked.db");
    backend = new SQLiteBackend({ path, namespace: "locked", timeoutMs: 50 });
    await backend.initialize();
    holder = await openDatabase(path, 0);
  });
  after(async () => {
    holder.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets onError decide once timeoutMs has passed, and stores nothing for it", async () => {
    const allow = new HTTPThrottle({ uid: "a", rate: "5/h", backend, onError: "allow" });
    const raise = new HTTPThrottle({ uid: "r", rate: "5/h", backend, onError: "raise" });
    const conn = { ip: "192.0.2.7" };
    assert.equal((await allow.hit(conn)).source, "backend");
    const left = (await allow.peek(conn)).remaining;
    assert.ok(left > 0, "a charge would show");
    holder.exec("BEGIN IMMEDIATE");
    try {
      const answered = await allow.hit(conn);
      assert.equal(answered.source, "error");
      assert.equal(answered.allowed, true);
      await assert.rejects(raise.hit(conn), { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" });
      const group = await tryHitAll([allow, raise], conn).catch((error: { code: string }) => error);
      assert.equal((group as { code: string }).code, "ERR_TRAFFIK_BACKEND_TIMEOUT");
      // A peek reads a snapshot: WAL lets readers past the writer.
      assert.equal((await allow.peek(conn)).remaining, left);
    } finally {
      holder.exec("ROLLBACK");
    }
    assert.equal((await allow.peek(conn)).remaining, left, "onError's answers were not charged");
    assert.equal((await raise.hit(conn)).remaining, 4, "decides again once the lock is free");
  });

  it("waits timeoutMs for a held lock once per outage, then briefly until it gets the lock", async () => {
    const throttle = new HTTPThrottle({ uid: "w", rate: "5/h", backend, onError: "allow" });
    const conn = { ip: "192.0.2.8" };
    assert.equal(backend.lockWaitMs, 50);
    holder.exec("BEGIN IMMEDIATE");
    try {
      assert.equal((await throttle.hit(conn)).source, "error");
      assert.equal(backend.lockWaitMs, 5, "the next decisions wait 5 ms, not 50");
      assert.equal((await throttle.hit(conn)).source, "error");
      assert.equal((await throttle.peek(conn)).source, "backend", "a read needs no lock");
      assert.equal(backend.lockWaitMs, 5, "a read does not end the outage");
    } finally {
      holder.exec("ROLLBACK");
    }
    assert.equal((await throttle.hit(conn)).source, "backend");
    assert.equal(backend.lockWaitMs, 50, "the full wait again once a decision got the lock");
  });
});

describe("SQLiteBackend misconfigured: loud at initialize(), whatever onError says", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "traffik-sqlite-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("names a file that cannot be opened as a database", async () => {
    const notADatabase = join(dir, "notes.txt");
    writeFileSync(notADatabase, "not a database, but long enough to have a header ".repeat(4));
    const directory = join(dir, "a-directory");
    mkdirSync(directory);
    for (const path of [join(dir, "missing", "limits.db"), notADatabase, directory]) {
      const backend = new SQLiteBackend({ path });
      await assert.rejects(backend.initialize(), (error: Error) => {
        assert.ok(error instanceof BackendConfigurationError, String(error));
        assert.ok(error.message.includes(JSON.stringify(path)), error.message);
        return true;
      });
      const throttle = new HTTPThrottle({ uid: "c", rate: "1/s", backend, onError: "allow" });
      await assert.rejects(throttle.hit({ ip: "192.0.2.1" }), BackendConfigurationError);
      await backend.close();
    }
  });

  it("fails loudly without the better-sqlite3 package", async () => {
    const worker = join(import.meta.dirname, "missing-driver-worker.ts");
    const hide = join(import.meta.dirname, "..", "..", "support", "hide-packages.mjs");
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "--import", hide, worker, join(dir, "unused.db")],
      { encoding: "utf8", env: { ...process.env, TRAFFIK_HIDE: "better-sqlite3" } },
    );
    const outcome = JSON.parse(stdout) as { code?: string; message?: string };
    assert.equal(outcome.code, "ERR_TRAFFIK_BACKEND_CONFIGURATION", stdout);
    assert.match(outcome.message ?? "", /npm install better-sqlite3/);
  });

  it("rejects bad options where they are written", () => {
    const path = join(dir, "options.db");
    const cases: [unknown, RegExp][] = [
      [{ path, timeout: 10 }, /unknown option "timeout"; did you mean "timeoutMs"\?/],
      [{ path, tabel: "x" }, /did you mean "table"\?/],
      [{}, /path must be a file name/],
      [{ path: "" }, /path must be a file name/],
      [{ path, table: "t; DROP TABLE x" }, /table must be/],
      [{ path, table: "1abc" }, /table must be/],
      [{ path, clock: 5 }, /clock must be a function/],
      [{ path, namespace: "a:b" }, /Invalid namespace/],
      [{ path, timeoutMs: 0 }, /timeoutMs/],
      [undefined, /needs options/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => new SQLiteBackend(options as ConstructorParameters<typeof SQLiteBackend>[0]),
        (error: Error) => error instanceof ConfigurationError && message.test(error.message),
        JSON.stringify(options),
      );
    }
  });

  it("takes any positive timeoutMs as the wait for a lock, up to what SQLite can wait", async () => {
    for (const timeoutMs of [0.5, 2 ** 31, Number.POSITIVE_INFINITY]) {
      const backend = new SQLiteBackend({ path: ":memory:", timeoutMs });
      await backend.initialize();
      await backend.close();
    }
  });

  it("refuses to decide once closed", async () => {
    const backend = new SQLiteBackend({ path: ":memory:" });
    const throttle = new HTTPThrottle({ uid: "c", rate: "1/s", backend });
    assert.equal((await throttle.hit({ ip: "192.0.2.1" })).allowed, true);
    await backend.close();
    await assert.rejects(throttle.hit({ ip: "192.0.2.1" }), ConfigurationError);
    await assert.rejects(backend.get("k"), { code: "ERR_TRAFFIK_BACKEND_CLOSED" });
  });
});
