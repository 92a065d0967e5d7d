import {
  BackendConfigurationError,
  BackendConnectionError,
  BackendError,
  ConfigurationError,
} from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { ThrottleBackend } from "../base.js";
import { ServerClock } from "../server-clock.js";
import { namespaceRange, rowKey } from "./keys.js";
import {
  identifier,
  OPTION_NAMES,
  type PostgresBackendOptions,
  positiveInteger,
  sweepOption,
} from "./options.js";
import {
  failure,
  isPool,
  isSchemaGone,
  listened,
  openPool,
  type PostgresPool,
  SETUP_FLOOR_MS,
} from "./pool.js";
import { type CallSite, decideGroupQuery, decideOneQuery } from "./queries.js";
import { type Schema, schemaFor } from "./schema.js";
import { LOCK_CLASS, SERVER_NOW } from "./sql/strategies.js";

/**
 * The connection of {@link PostgresBackend}: options, the pool (made, checked, ended), the
 * schema (created on `initialize()`), the deciding clock, and how every query is sent: within
 * the deadline and the bound on pending commands, its failure a `BackendError` naming the
 * server. The store primitives are `store.ts`'s, decisions the backend's. Not exported: it
 * reaches the published types only as {@link PostgresBackend}'s base class.
 */
export abstract class PostgresConnection extends ThrottleBackend {
  /** The table's and the decision function's names, and the statements creating them. @internal */
  protected readonly schema: Schema;
  /** The test clock, if any; decisions are on the server's clock without one. @internal */
  protected readonly clock: (() => number) | undefined;
  /** The sweep's settings, checked, or `undefined` for none. @internal */
  protected readonly sweep: { every: number; rows: number } | undefined;
  /** Where the server is, for messages: the URL past credentials, or the pool. @internal */
  protected readonly where: string;
  /** The table keys of this namespace: from `from`, up to (not including) `to`. @internal */
  protected readonly range: readonly [from: string, to: string];
  /** The server's clock, for deadlines carried to the server. @internal */
  protected readonly serverClock = new ServerClock(() => this.probeTime());
  /** The pool, once given or opened; `undefined` after the backend ended its own. @internal */
  protected pool: PostgresPool | undefined;
  private readonly connection: string | PostgresPool;
  private readonly poolSize: number;
  /** The schema being created again, shared by every call that found it gone meanwhile. */
  private recreating: Promise<void> | undefined;

  /**
   * @throws {ConfigurationError} for a missing connection, an unknown or malformed option.
   * @throws {BackendConfigurationError} for a connection that is neither a URL nor a pool.
   */
  constructor(options: PostgresBackendOptions) {
    rejectUnknownOptions("PostgresBackend", options, OPTION_NAMES);
    super({
      ...options,
      namespace: options.namespace ?? "traffik",
      persistent: options.persistent ?? true,
    });
    const { connection } = options;
    if (typeof connection === "string") {
      if (!/^postgres(ql)?:\/\//.test(connection)) {
        throw new ConfigurationError(
          `PostgresBackend's connection URL must start with postgres:// or postgresql://; got ${JSON.stringify(connection.slice(0, 40))}.`,
        );
      }
      this.where = connection.replace(/^[^@]*@/, "").replace(/^postgres(ql)?:\/\//, "");
    } else if (connection === undefined || connection === null) {
      throw new ConfigurationError(
        "PostgresBackend needs a `connection`: a postgres:// URL or a pg.Pool.",
      );
    } else if (!isPool(connection)) {
      throw new BackendConfigurationError(
        "PostgresBackend's connection must be a postgres:// URL or a pg.Pool (with query, connect and end).",
      );
    } else {
      this.where = "the given pool";
      this.pool = connection;
    }
    this.connection = connection;
    this.poolSize = positiveInteger("poolSize", options.poolSize ?? 10);
    const schema = identifier("schema", options.schema ?? "public", 63);
    const table = identifier("table", options.table ?? "traffik_state", 45);
    this.schema = schemaFor(schema, table, options.logged ?? false);
    this.clock = options.clock;
    this.sweep = sweepOption(options.sweep);
    this.range = namespaceRange(this.namespace);
  }

  /**
   * The statements `initialize()` runs when the table or the function is missing, for a
   * migration of your own: run them as a role that may create in the schema, and the
   * backend's role then needs only SELECT, INSERT, UPDATE and DELETE on the table and EXECUTE
   * on the function. The function's name changes with Traffik's version.
   */
  get createStatements(): readonly string[] {
    return this.schema.create;
  }

  /**
   * Opens the pool (for a URL), creates the table and the decision function if missing (one
   * process at a time, under an advisory lock), learns the server's clock, and makes one empty
   * decision, which proves the role may run it in a READ COMMITTED transaction. All within
   * `timeoutMs`, but at least 5 s: creating the schema on a busy server takes a while.
   * @throws {BackendConnectionError} naming the server, when it cannot be reached.
   * @throws {BackendConfigurationError} when it refuses the credentials, a privilege or the
   * isolation level, when its encoding cannot hold identities, or when `pg` is missing.
   */
  override async initialize(): Promise<void> {
    this.pool ??= await openPool(this.connection as string, this.poolSize, this.timeoutMs);
    const pool = this.pool;
    const setup = async () => {
      await this.createSchema(pool);
      await this.serverClock.sync();
      // Both functions, on nothing: the role may run them, in this isolation level.
      const site = this.callSite(null, 0);
      await pool.query(decideGroupQuery(site, [], [], [], false));
      await pool.query(decideOneQuery(site, this.range[0], PROBE, MIRROR_PROBE, false));
    };
    let timer: NodeJS.Timeout | undefined;
    const limitMs = Math.max(this.timeoutMs, SETUP_FLOOR_MS);
    try {
      await Promise.race([
        setup(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${limitMs} ms while setting up`)),
            limitMs,
          );
        }),
      ]);
    } catch (error) {
      const reason = failure(error, this.where);
      if (reason instanceof BackendConfigurationError) throw reason;
      throw new BackendConnectionError(
        `Cannot use PostgreSQL at ${this.where} for backend "${this.namespace}": ${reason.message}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private async createSchema(pool: PostgresPool): Promise<void> {
    const client = listened(await pool.connect());
    try {
      const encoding = (await client.query("SHOW server_encoding")).rows[0] as {
        server_encoding: string;
      };
      if (!["UTF8", "SQL_ASCII"].includes(encoding.server_encoding)) {
        throw new BackendConfigurationError(
          `PostgreSQL at ${this.where} stores text as ${encoding.server_encoding}, which cannot hold every client identity; use a UTF8 database.`,
        );
      }
      const [table, decide, decideOne] = this.schema.create as [string, string, string];
      const missing = await client.query({
        text: "SELECT to_regclass($1) IS NULL AS t, to_regproc($2) IS NULL AS g, to_regproc($3) IS NULL AS o",
        values: [this.schema.table, this.schema.decide, this.schema.decideOne],
      });
      const { t, g, o } = missing.rows[0] as { t: boolean; g: boolean; o: boolean };
      if (!t && !g && !o) return;
      await client.query("BEGIN");
      // Concurrent DDL on one name fails ("tuple concurrently updated"): one process at a time.
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, 0)`);
      // Idempotent statements, run again under the lock: another process may have run them.
      if (t) await client.query(table);
      if (g) await client.query(decide);
      if (o) await client.query(decideOne);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Clears the namespace unless `persistent`, then ends a pool it made (within the
   * deadline), whatever clearing did.
   */
  protected override async shutdown(): Promise<void> {
    const pool = this.pool;
    try {
      if (!this.persistent && pool !== undefined) await this.reset();
    } finally {
      if (typeof this.connection === "string" && pool !== undefined) {
        this.pool = undefined;
        await this.withinTimeout(pool.end()).catch(() => {});
      }
    }
  }

  override now(): number {
    return this.clock?.() ?? Date.now();
  }

  /** A test clock's time as the functions take it, or `null` for the server's clock. @internal */
  protected clockArg(): number | null {
    return this.clock === undefined ? null : Math.floor(this.clock());
  }

  /** What a call of a decision function carries besides its requests. @internal */
  protected callSite(
    deadline: number | null,
    sweepRows: number,
    sweepFrom: string | null = null,
  ): CallSite {
    return {
      schema: this.schema,
      now: this.clockArg(),
      deadline,
      range: this.range,
      sweepFrom,
      sweepRows,
    };
  }

  /**
   * `attempt()`, and once more after creating the table and the functions again if it failed
   * because one of them is gone (dropped, or the schema recreated, while the backend ran): a
   * failed statement wrote nothing, so the retry is the only decision. Calls failing together
   * share one creation, bounded by the deadline. @internal
   */
  protected async recreatingSchema<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!isSchemaGone(error)) throw error;
      const pool = await this.connected();
      this.recreating ??= this.withinTimeout(this.createSchema(pool)).finally(() => {
        this.recreating = undefined;
      });
      try {
        await this.recreating;
      } catch (recreation) {
        throw failure(recreation, this.where);
      }
      return attempt();
    }
  }

  /** One query, within the deadline and the bound on pending commands: its rows. @internal */
  protected query(text: string, values: unknown[]): Promise<unknown[]> {
    return this.recreatingSchema(() =>
      this.connected().then((pool) =>
        this.command(
          () => pool.query({ text, values }),
          (result) => result.rows,
          (error) => {
            throw failure(error, this.where);
          },
        ),
      ),
    );
  }

  /** The pool, once initialized. @internal */
  protected async connected(): Promise<PostgresPool> {
    await this.ready();
    if (this.pool === undefined) {
      throw new BackendError(`Backend "${this.namespace}" is closed: its pool has ended.`);
    }
    return this.pool;
  }

  private async probeTime(): Promise<number> {
    const result = await (this.pool as PostgresPool).query({ text: `SELECT ${SERVER_NOW} AS t` });
    return Number((result.rows[0] as { t: string }).t);
  }

  /** The table's key for a relative key of this namespace. @internal */
  protected key(relative: string): string {
    return rowKey(this.namespace, relative);
  }
}

/** An empty request, for proving on `initialize()` that the role may run the lone function. */
const PROBE = { cost: 0, rate: { limit: 1, windowMs: 1000 } };
const MIRROR_PROBE = ["fw", null, null] as const;
