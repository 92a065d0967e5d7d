import {
  BackendConfigurationError,
  BackendConnectionError,
  BackendError,
  ConfigurationError,
} from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { ThrottleBackend } from "../base.js";
import { ServerClock } from "../server-clock.js";
import { linkFor } from "./client-kind.js";
import type { ClientLink, RedisClient } from "./client-link.js";
import { checkUrl, clientForUrl, errorText, isRefusal, urlAddress } from "./connection.js";
import { DecisionFunctions, decisionLibrary } from "./library.js";
import { LATE_REPLY } from "./lua/deadline.js";
import { REDIS_OPTION_NAMES, type RedisBackendOptions } from "./options.js";
import { watchErrors } from "./ready-wait.js";
import type { Script } from "./script.js";

/** Reads the server's clock; also proves the server lets this client run scripts. */
const TIME_PROBE_LUA = `local t = redis.call("TIME")
return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * The link of {@link RedisBackend} to its server: the connection (made, checked, closed), the
 * server's clock, and how every command and script is sent: within the deadline and the bound
 * on pending calls, its failure a `BackendError` naming the server.
 * Not exported: it reaches the published types only as {@link RedisBackend}'s base class.
 */
export abstract class RedisLink extends ThrottleBackend {
  private readonly connection: RedisBackendOptions["connection"];
  /** The test clock, if any; decisions are on the server's clock without one. @internal */
  protected readonly clock: (() => number) | undefined;
  /** The link to the client, once connected. @internal */
  protected link: ClientLink | undefined;
  /** The link to a client given as such: checked at construction, used from `initialize()`. */
  private readonly given: ClientLink | undefined;
  private ownsClient = false;
  /** The server's address, for messages. @internal */
  protected where: string;
  /** The server's clock, for deadlines carried to the server. @internal */
  protected readonly serverClock = new ServerClock(() => this.probeTime());
  /** Whether decisions go by FCALL of the decision library, or by EVALSHA. */
  private readonly functions = new DecisionFunctions();

  /**
   * @throws {ConfigurationError} for a malformed connection URL or an unknown option.
   * @throws {BackendConfigurationError} for a client that is neither an ioredis nor a node-redis one.
   */
  constructor(options: RedisBackendOptions) {
    rejectUnknownOptions("RedisBackend", options, REDIS_OPTION_NAMES);
    super({
      ...options,
      namespace: options.namespace ?? "traffik",
      persistent: options.persistent ?? true,
    });
    const connection = options.connection;
    if (typeof connection === "string") checkUrl(connection);
    else if (connection === undefined || connection === null) {
      throw new ConfigurationError(
        "RedisBackend needs a `connection`: a URL, an ioredis or node-redis client, or a function returning one.",
      );
    }
    this.given =
      typeof connection === "string" || typeof connection === "function"
        ? undefined
        : linkFor(connection);
    this.connection = connection;
    this.where =
      typeof connection === "string"
        ? urlAddress(connection)
        : (this.given?.address ?? "the server given");
    this.clock = options.clock;
  }

  /** The client (ioredis or node-redis, as given or made from the URL), once initialized. */
  get redis(): RedisClient | undefined {
    return this.link?.client;
  }

  /**
   * Connects, and reads the server's clock with a script (which also proves scripts may run).
   * @throws {BackendConnectionError} naming host:port, when Redis cannot be reached.
   * @throws {BackendConfigurationError} when it refuses the credentials or scripts, or when
   * `ioredis` is missing (for a URL) or the client is neither an ioredis nor a node-redis one.
   */
  override async initialize(): Promise<void> {
    this.link ??= this.given ?? (await this.madeWhileOpen());
    const link = this.link;
    this.where = link.address;
    const errors = watchErrors(link);
    try {
      await this.withinTimeout(Promise.race([link.untilReady(this.timeoutMs), errors.refused]));
      await this.withinTimeout(this.serverClock.sync());
      // Never fails: where Functions are missing or refused, decisions go by EVALSHA.
      await this.withinTimeout(this.functions.load(link));
    } catch (error) {
      const told = errors.told();
      const reason = isRefusal(told) ? told : error;
      if (isRefusal(reason)) {
        if (this.ownsClient) {
          link.destroy();
          this.link = undefined;
        }
        throw new BackendConfigurationError(
          `Redis at ${this.where} refused backend "${this.namespace}": ${errorText(reason)}. Check the credentials and that the user may run scripts (EVAL, EVALSHA, TIME).`,
          { cause: reason },
        );
      }
      throw new BackendConnectionError(
        `Cannot reach Redis at ${this.where} for backend "${this.namespace}": ${errorText(told ?? error)}`,
        { cause: error },
      );
    } finally {
      errors.stop();
    }
  }

  /**
   * Clears the namespace unless `persistent`, then lets go of a client it made (QUIT, or a
   * disconnect if the server does not answer within the deadline), whatever clearing did.
   */
  protected override async shutdown(): Promise<void> {
    const link = this.link;
    if (link === undefined) return;
    try {
      if (!this.persistent) await this.reset();
    } finally {
      this.link = undefined;
      if (this.ownsClient) {
        await this.withinTimeout(link.quit()).catch(() => link.destroy());
      }
    }
  }

  override now(): number {
    return this.clock?.() ?? Date.now();
  }

  /** Whether the client is a cluster; a connection given as a function is not known before use. @internal */
  protected isCluster(): boolean {
    return (this.link ?? this.given)?.isCluster ?? false;
  }

  /** The key of a relative key, in this namespace. @internal */
  protected key(relative: string): string {
    return `${this.namespace}:${relative}`;
  }

  /** The client, once initialized. @internal */
  protected async connected(): Promise<ClientLink> {
    const ready = this.ready();
    if (ready !== undefined) await ready;
    return this.link as ClientLink;
  }

  /** Whether the client is connected and initialized. @internal */
  protected isReady(): boolean {
    return this.link !== undefined && this.ready() === undefined;
  }

  /** One command with the deadline; its failure as a `BackendError` naming the server. @internal */
  protected call<T>(send: () => Promise<T>): Promise<T> {
    return this.command(send, undefined, (error: unknown): never => {
      throw this.failure(error);
    });
  }

  /** What a call failed with, as a `BackendError` naming the server. @internal */
  protected failure(error: unknown): unknown {
    if (error instanceof BackendError) return error;
    const message = errorText(error);
    const late = message.startsWith(LATE_REPLY);
    // A script declined before this process's own deadline: its idea of the server's clock is off.
    if (late) this.serverClock.resync();
    if (late || message === "Command timed out") {
      return new BackendError(`Redis at ${this.where}: ${message}`, {
        code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
        cause: error,
      });
    }
    return new BackendError(`Redis at ${this.where}: ${message}`, { cause: error });
  }

  /**
   * EVALSHA, or FCALL of the decision library for the decision script where that is loaded
   * (`decision`), falling back to EVAL (which caches the script) where the node lacks either's
   * code; `map` shapes the reply in the same turn, which spares the hot path a promise. Counted
   * as pending, without a deadline of its own: the caller applies one. @internal
   */
  protected script<T = unknown>(
    script: Script,
    keys: readonly string[],
    args: readonly string[],
    map: (reply: unknown) => T = (reply) => reply as T,
    decision = false,
  ): Promise<T> {
    const fail = (error: unknown): never => {
      throw this.failure(error);
    };
    const run = (link: ClientLink) =>
      this.counted(() => this.firstTry(link, script, keys, args, decision)).then(
        map,
        (error: unknown) => {
          if (!this.lacksCode(error, link)) return fail(error);
          return this.counted(() => link.script("EVAL", script.source, keys, args)).then(map, fail);
        },
      );
    // Initialized is the common case: no extra turn of the microtask queue.
    return this.isReady() ? run(this.link as ClientLink) : this.connected().then(run);
  }

  /**
   * A script's first try: FCALL of the decision library for the decision script (`decision`)
   * where that is loaded (FCALL_RO for a peek), else EVALSHA; either may find its code missing
   * (see `lacksCode`). @internal
   */
  protected firstTry(
    link: ClientLink,
    { sha }: Script,
    keys: readonly string[],
    args: readonly string[],
    decision: boolean,
  ): Promise<unknown> {
    if (decision) {
      if (this.functions.usable) {
        const { fn, peekFn } = decisionLibrary();
        // A peek's mode argument is "p": it writes nothing.
        if (args[0] === "p") return link.script("FCALL_RO", peekFn, keys, args);
        return link.script("FCALL", fn, keys, args);
      }
      this.functions.retry(link);
    }
    return link.script("EVALSHA", sha, keys, args);
  }

  /** Whether a first try failed for want of its code (a restart, a failover, a flush). @internal */
  protected lacksCode(error: unknown, link: ClientLink): boolean {
    return this.functions.missing(error, link);
  }

  /** The server's clock, read by a script: proof that this client may run scripts. */
  private async probeTime(): Promise<number> {
    const link = this.link as ClientLink;
    return Number(await link.script("EVAL", TIME_PROBE_LUA, [], []));
  }

  /**
   * {@link makeLink}, unless the backend was closed while it was made (an app shut down as it
   * started): then a client of its own is let go of at once, not left connecting for ever.
   */
  private async madeWhileOpen(): Promise<ClientLink> {
    const link = await this.makeLink();
    if (!this.isClosed) return link;
    if (this.ownsClient) link.destroy();
    throw new BackendConnectionError(
      `Backend "${this.namespace}" was closed while it connected to Redis at ${this.where}.`,
    );
  }

  private async makeLink(): Promise<ClientLink> {
    const connection = this.connection;
    if (typeof connection === "function") return linkFor(await connection());
    if (typeof connection !== "string") return this.given as ClientLink;
    const link = linkFor(
      await clientForUrl(connection, this.timeoutMs, () => this.pendingCommands),
    );
    this.ownsClient = true;
    return link;
  }
}
