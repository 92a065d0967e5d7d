import { BackendConfigurationError, BackendError } from "../../errors.js";
import type { RawSender } from "./corked-commands.js";

/** The slice of a `memcache-client` MemcacheClient used here: one per server. */
export interface ServerClient extends RawSender {
  get(key: string): Promise<{ value: unknown } | undefined>;
  add(key: string, value: string, options: { lifetime: number }): Promise<unknown>;
  set(key: string, value: string, options: { lifetime: number }): Promise<unknown>;
  cas(
    key: string,
    value: string,
    options: { casUniq: string | number; lifetime: number },
  ): Promise<unknown>;
  incr(key: string, value: number): Promise<string>;
  decr(key: string, value: number): Promise<string>;
  delete(key: string): Promise<unknown>;
  version(): Promise<unknown>;
  shutdown(): void;
}

/** One memcached server: its `host:port`, its pooled client, when it last answered. */
export interface Server {
  readonly name: string;
  readonly client: ServerClient;
  /** `performance.now()` of the server's latest answer to a command. */
  answeredAt: number;
}

/**
 * Opens a pooled client for one `host:port`.
 * @throws {BackendConfigurationError} when the `memcache-client` package is not installed.
 */
export async function openServerClient(
  server: string,
  poolSize: number,
  timeoutMs: number,
): Promise<ServerClient> {
  let MemcacheClient: typeof import("memcache-client").MemcacheClient;
  try {
    ({ MemcacheClient } = await import("memcache-client"));
  } catch (error) {
    throw new BackendConfigurationError(
      'MemcachedBackend needs the "memcache-client" package, which is not installed: npm install memcache-client',
      { cause: error },
    );
  }
  return new MemcacheClient({
    server: { server, maxConnections: poolSize },
    cmdTimeout: timeoutMs,
    connectTimeout: timeoutMs,
    noDelay: true,
  }) as unknown as ServerClient;
}

/** The reply a failed memcached command carried (`EXISTS`, `NOT_FOUND`, `NOT_STORED`), if any. */
function reply(error: unknown): string | undefined {
  const tokens = (error as { cmdTokens?: unknown } | null)?.cmdTokens;
  return Array.isArray(tokens) && typeof tokens[0] === "string" ? tokens[0] : undefined;
}

/** Whether `error` is the server answering `answer` (a normal outcome, not a failure). */
export function answered(error: unknown, answer: "EXISTS" | "NOT_FOUND" | "NOT_STORED"): boolean {
  return reply(error) === answer;
}

/** Wraps a transport or server failure as a `BackendError` naming the server. */
export function failure(error: unknown, server: string): BackendError {
  if (error instanceof BackendError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // memcache-client's own command timeout is a timeout too, whichever deadline fires first.
  const timedOut = /command timeout/i.test(message);
  return new BackendError(`Memcached ${server}: ${message}`, {
    cause: error,
    ...(timedOut ? { code: "ERR_TRAFFIK_BACKEND_TIMEOUT" } : {}),
  });
}
