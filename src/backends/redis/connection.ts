import type { Cluster, Redis } from "ioredis";
import { BackendConfigurationError, ConfigurationError } from "../../errors.js";

/** An ioredis client: a single node or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * The ioredis client for a `redis://` URL, owned by the backend. Every command has the backend's
 * timeout, and a socket that stops answering for as long is dropped (ioredis then fails what it
 * held and reconnects): a frozen server cannot make the process hold ever more commands.
 * @throws {BackendConfigurationError} when the `ioredis` package is not installed.
 */
export async function clientForUrl(url: string, timeoutMs: number): Promise<RedisClient> {
  let Redis: typeof import("ioredis").Redis;
  try {
    ({ Redis } = await import("ioredis"));
  } catch (error) {
    throw new BackendConfigurationError(
      'RedisBackend needs the "ioredis" package, which is not installed: npm install ioredis',
      { cause: error },
    );
  }
  const client = new Redis(url, {
    lazyConnect: true,
    // Fail fast while Redis is away, so onError decides within the timeout; reconnect quickly.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    retryStrategy: (attempt) => Math.min(50 * attempt, 500),
  });
  client.on("error", () => {
    // Surfaced per request as a BackendError; the client reconnects by itself.
  });
  return client;
}

/**
 * Resolves once `client` can take commands, whatever its state: a lazy one is connected, one
 * still connecting (a fresh Cluster, or a Sentinel client asking for its master) is waited for,
 * since with its offline queue off it would refuse a command at once. Rejects after `timeoutMs`
 * or when the client gives up, and leaves no listener behind either way.
 */
export function untilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  if (client.status === "wait" || client.status === "end") return client.connect();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("end", onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = () => settle();
    const onEnd = () => settle(new Error("the client gave up connecting"));
    const timer = setTimeout(
      () => settle(new Error(`not ready within ${timeoutMs} ms (status "${client.status}")`)),
      timeoutMs,
    );
    client.on("ready", onReady);
    client.on("end", onEnd);
  });
}

/**
 * `client`, checked to be an ioredis client by what it can do (not by its class, which another
 * copy of ioredis would not share).
 * @throws {BackendConfigurationError} for anything else, such as a node-redis client.
 */
export function checkClient(client: unknown): RedisClient {
  const candidate = client as Partial<Record<"evalsha" | "eval" | "on" | "connect", unknown>>;
  const missing = (["evalsha", "eval", "on", "connect"] as const).filter(
    (method) => typeof candidate?.[method] !== "function",
  );
  if (missing.length > 0 || typeof (client as { status?: unknown }).status !== "string") {
    const node = typeof (client as { evalSha?: unknown })?.evalSha === "function";
    throw new BackendConfigurationError(
      `RedisBackend needs an ioredis client (Redis or Cluster); the connection given ${
        missing.length > 0 ? `has no ${missing.join(", ")}()` : "has no status"
      }${node ? " (it looks like a node-redis client)" : ""}. Pass an ioredis client or a redis:// URL.`,
    );
  }
  return client as RedisClient;
}

/** `host:port` of the server(s) a connection points at, for messages. */
export function serverAddress(connection: unknown): string {
  if (typeof connection === "string") {
    try {
      const url = new URL(connection);
      return `${url.hostname || "127.0.0.1"}:${url.port || "6379"}`;
    } catch {
      return connection;
    }
  }
  const client = connection as {
    options?: { host?: string; port?: number; name?: string; sentinels?: unknown };
    startupNodes?: readonly (string | number | { host?: string; port?: number })[];
  };
  if (Array.isArray(client?.startupNodes)) {
    return client.startupNodes
      .map((node) =>
        typeof node === "object"
          ? `${node.host ?? "127.0.0.1"}:${node.port ?? 6379}`
          : String(node),
      )
      .join(",");
  }
  if (Array.isArray(client?.options?.sentinels)) {
    const sentinels = serverAddress({ startupNodes: client.options.sentinels });
    return `master "${client.options.name ?? "mymaster"}" of sentinels ${sentinels}`;
  }
  if (client?.options !== undefined) {
    return `${client.options.host ?? "127.0.0.1"}:${client.options.port ?? 6379}`;
  }
  return "the server given";
}

/**
 * Whether the server refused the backend's set-up rather than failed: bad credentials, a user
 * without the rights to run scripts, scripting turned off. Retrying cannot help.
 */
export function isRefusal(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /^(WRONGPASS|NOAUTH|NOPERM)\b|^ERR (unknown command|invalid password|AUTH)/.test(message);
}

/** @throws {ConfigurationError} for a URL that is not `redis:` or `rediss:`. */
export function checkUrl(connection: string): void {
  let protocol: string;
  try {
    protocol = new URL(connection).protocol;
  } catch {
    throw new ConfigurationError(
      `Invalid Redis URL ${JSON.stringify(connection)}: expected redis://host:port/db or rediss://...`,
    );
  }
  if (protocol !== "redis:" && protocol !== "rediss:") {
    throw new ConfigurationError(
      `Invalid Redis URL ${JSON.stringify(connection)}: the scheme must be redis: or rediss:.`,
    );
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
