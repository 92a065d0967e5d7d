import { randomUUID } from "node:crypto";
import { BackendError } from "../../errors.js";
import type { StrategyState } from "../../strategies/strategy.js";
import { ThrottleBackend } from "../base.js";
import { pollForLock } from "../poll-lock.js";
import { encodeState } from "../state-codec.js";
import type { Lock, LockOptions } from "../types.js";
import { type Database, openDatabase } from "./driver.js";
import { decisionFailure, openingFailure } from "./failures.js";
import { LockWait } from "./lock-wait.js";
import { type SQLiteBackendOptions, sqliteSettings } from "./options.js";
import { createTable, FOREVER, prepareStatements, type Row, type Statements } from "./schema.js";
import { SweepCursor } from "./sweep.js";

/** An open file: its connection, the statements prepared on it, and its wait for locks. */
interface Connection {
  readonly db: Database;
  readonly statements: Statements;
  readonly wait: LockWait;
}

/**
 * The store half of {@link SQLiteBackend}: the connection (WAL mode, the table, the wait for
 * locks: {@link LockWait}), transactions, the primitives and locks, `reset()` and `close()`.
 * Every call is synchronous inside: better-sqlite3 runs SQLite on the calling thread.
 * Decisions are the backend's. Not exported: it reaches the published types only as
 * `SQLiteBackend`'s base.
 */
export abstract class SQLiteStore extends ThrottleBackend {
  /** The database file, as given. */
  readonly path: string;
  private readonly table: string;
  private readonly clock: (() => number) | undefined;
  private readonly sweep: SweepCursor;
  private connection: Connection | undefined;

  /** @throws {ConfigurationError} for an unknown option, a missing path or a bad table name. */
  constructor(options: SQLiteBackendOptions) {
    const settings = sqliteSettings(options);
    super(settings.base);
    this.path = settings.path;
    this.table = settings.table;
    this.clock = settings.clock;
    // `;` follows `:`: [`ns:`, `ns;`) holds exactly the keys of this namespace.
    this.sweep = new SweepCursor(`${this.namespace}:`, `${this.namespace};`);
  }

  /**
   * Opens the file in WAL mode (readers never wait for the writer) and creates the table if
   * missing.
   * @throws {BackendConfigurationError} when `better-sqlite3` is missing or the file cannot be
   *   opened as a database (no such directory, no permission, not a database).
   * @throws {BackendError} `ERR_TRAFFIK_BACKEND_TIMEOUT` when another process keeps the file
   *   locked for over `timeoutMs`.
   */
  override async initialize(): Promise<void> {
    if (this.connection !== undefined) return;
    // SQLite's busy_timeout: how long a statement waits for another connection's lock, in
    // whole ms within the 2^31 - 1 SQLite takes.
    const waitMs = Math.min(Math.ceil(this.timeoutMs), 0x7fffffff);
    let db: Database;
    try {
      db = await openDatabase(this.path, waitMs);
    } catch (error) {
      throw openingFailure(error, this.path, this.timeoutMs);
    }
    try {
      db.pragma("journal_mode = WAL", { simple: true });
      createTable(db, this.table);
      const statements = prepareStatements(db, this.table);
      this.connection = { db, statements, wait: new LockWait(db, waitMs) };
    } catch (error) {
      db.close();
      throw openingFailure(error, this.path, this.timeoutMs);
    }
  }

  /** The deciding clock: this process's wall clock (or the injected one), in whole ms. */
  override now(): number {
    return Math.floor(this.clock ? this.clock() : Date.now());
  }

  async get(key: string): Promise<string | null> {
    await this.opened();
    const row = this.statement(false, (s) => s.read.get(this.rowKey(key), this.now())) as
      | Row
      | undefined;
    return row === undefined ? null : row.state;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.opened();
    const expiresAt = ttlMs === undefined ? FOREVER : this.now() + Math.max(1, Math.ceil(ttlMs));
    this.statement(true, (s) => s.write.run(this.rowKey(key), value, expiresAt));
  }

  async delete(key: string): Promise<void> {
    await this.opened();
    this.statement(true, (s) => s.remove.run(this.rowKey(key)));
  }

  /** A row holding a random token until it expires; taken only where none is live. */
  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    await this.opened();
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? this.lockTtlMs));
    const key = this.rowKey(`lock:${name}`);
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      const now = this.now();
      return (
        this.statement(true, (s) => s.takeLock.run(key, token, now + ttlMs, now)).changes === 1
      );
    });
    return {
      release: async () =>
        this.statement(true, (s) => s.releaseLock.run(key, token, this.now())).changes === 1,
    };
  }

  /** Deletes every row of this namespace, in one statement. */
  async reset(): Promise<void> {
    await this.opened();
    this.statement(true, (s) => s.removeRange.run(`${this.namespace}:`, `${this.namespace};`));
  }

  /** Clears the namespace unless `persistent`, then closes the file, whatever clearing did. */
  protected override async shutdown(): Promise<void> {
    const connection = this.connection;
    if (connection === undefined) return;
    try {
      await super.shutdown();
    } finally {
      this.connection = undefined;
      connection.db.close();
    }
  }

  /** The table's key of a relative key: the namespace first. @internal */
  protected rowKey(relative: string): string {
    return `${this.namespace}:${relative}`;
  }

  /** Whether {@link initialize} opened the file and {@link close} has not closed it. @internal */
  protected get isOpen(): boolean {
    return this.connection !== undefined;
  }

  /** How long a statement now waits for another's lock (see {@link LockWait}). @internal */
  get lockWaitMs(): number {
    return this.connection?.wait.currentMs ?? 0;
  }

  /** Initializes once (see {@link ready}). @internal */
  protected async opened(): Promise<void> {
    const initializing = this.ready();
    if (initializing !== undefined) await initializing;
  }

  /**
   * Runs `work` in one transaction and commits it: with the write lock from its start
   * (`BEGIN IMMEDIATE`) when `write`, so that what it reads cannot change before it writes,
   * even from another process; else on one snapshot. Waits up to `timeoutMs` for the lock
   * (busy_timeout), on this thread. Anything that fails rolls the whole back.
   * @throws {BackendError} `ERR_TRAFFIK_BACKEND_TIMEOUT` for a lock held past `timeoutMs`,
   *   `ERR_TRAFFIK_BACKEND` for another failure, `ERR_TRAFFIK_BACKEND_CLOSED` when closed.
   * @internal
   */
  protected transaction<T>(write: boolean, work: (s: Statements, now: number) => T): T {
    return this.statement(write, (s) => {
      (write ? s.beginWrite : s.beginRead).run();
      try {
        // Read once the lock is held: a later writer decides at a later (or the same) time.
        const now = this.now();
        const result = work(s, now);
        if (write) this.sweep.step(s, now);
        s.commit.run();
        return result;
      } catch (error) {
        // The first failure is the one to report; a failed rollback ends the transaction too.
        if (this.connection?.db.inTransaction) {
          try {
            s.rollback.run();
          } catch {}
        }
        throw error;
      }
    });
  }

  /** Stores `state` at the table key `at`, or deletes it if it has expired at `now`. @internal */
  protected keepState(s: Statements, at: string, state: StrategyState, now: number): void {
    const expiresAt = state[0] as number;
    if (expiresAt > now) s.write.run(at, encodeState(state), Math.ceil(expiresAt));
    else s.remove.run(at);
  }

  /**
   * Runs `work` on the open statements, its failures as `BackendError`s. When it `writes`, it
   * tells the wait for locks whether it got the write lock (a read needs none, in WAL mode).
   */
  private statement<T>(writes: boolean, work: (s: Statements) => T): T {
    const connection = this.connection;
    if (connection === undefined) {
      throw new BackendError(`SQLiteBackend "${this.namespace}" is closed or not initialized.`, {
        code: "ERR_TRAFFIK_BACKEND_CLOSED",
      });
    }
    let result: T;
    try {
      result = work(connection.statements);
    } catch (error) {
      const failure = decisionFailure(error, this.path, this.timeoutMs);
      if (failure.code === "ERR_TRAFFIK_BACKEND_TIMEOUT") connection.wait.ranOut();
      throw failure;
    }
    if (writes) connection.wait.got();
    return result;
  }
}
