import type { Redis } from "ioredis";
import { BackendConfigurationError, ConfigurationError } from "../../errors.js";
import { dropWhenSilent } from "./silent-socket.js";

/**
 * The ioredis client for a `redis://` URL, owned by the backend. A socket that stops answering
 * for `timeoutMs` while `waiting()` calls wait on it is dropped (see `silent-socket.ts`; ioredis
 * then fails what it held and reconnects): a frozen server cannot make the process hold ever
 * more commands. Each call's own deadline is the backend's, not the client's.
 * @throws {BackendConfigurationError} when the `ioredis` package is not installed.
 */
export async function clientForUrl(
  url: string,
  timeoutMs: number,
  waiting: () => number,
): Promise<Redis> {
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
    retryStrategy: (attempt) => Math.min(50 * attempt, 500),
  });
  client.on("error", () => {
    // Surfaced per request as a BackendError; the client reconnects by itself.
  });
  dropWhenSilent(client, timeoutMs, waiting);
  return client;
}

/** `host:port` of the server a URL points at, for messages. */
export function urlAddress(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || "127.0.0.1"}:${parsed.port || "6379"}`;
  } catch {
    return url;
  }
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
