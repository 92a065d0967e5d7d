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
    options?: { host?: string; port?: number };
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
