import { ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { BACKEND_OPTION_NAMES, type ThrottleBackendOptions } from "../base.js";
import type { DegradedModeOptions } from "../degraded/options.js";

/** Options of {@link MemcachedBackend}. */
export interface MemcachedBackendOptions extends Partial<ThrottleBackendOptions> {
  /** The server's host, when `servers` is not given. @default "127.0.0.1" */
  host?: string;
  /** The server's port, when `servers` is not given. @default 11211 */
  port?: number;
  /** Several servers as `"host:port"`; keys are spread over them by consistent hashing. */
  servers?: readonly string[];
  /** Connections per server. @default 4 */
  poolSize?: number;
  /** Keep the namespace's keys on `close()`; other processes may share them. @default true */
  persistent?: boolean;
  /**
   * Compare-and-swap attempts per round before its decisions are rejected as contended (and its
   * penalties and rewards fail with a `BackendError`). @default 24
   */
  casRetries?: number;
  /**
   * The most decisions of this process that wait for their turn on one key while a round on it
   * is in flight. More are rejected at once, as throttled (Retry-After: 1 s): a flood on one
   * client is not let to pile up. Penalties and rewards wait in the same rounds and count
   * towards it, but are never refused: they have no throttled answer to give. @default 128
   */
  maxWaitingPerKey?: number;
  /**
   * How often the namespace generation is re-read, in ms: after another process's `reset()`,
   * this one moves to the new generation within this time. @default 1000
   */
  generationRefreshMs?: number;
  /**
   * The deciding clock, in ms. Memcached has no clock to share, so processes decide on their
   * own: keep their clocks in sync (NTP). Tests pass one to replay traces. @default Date.now
   */
  clock?: () => number;
  /**
   * While the servers are out, decide requests in this process, each client within its limit
   * per process, instead of by `onError`, and hand them back once the servers answer (see
   * {@link DegradedModeOptions}). `false` leaves outages to `onError`. @default true
   */
  degradedMode?: boolean | DegradedModeOptions;
}

/**
 * Rejects unknown keys and malformed server addresses in `options`; returns the distinct
 * `host:port` names of the servers.
 * @throws {ConfigurationError} naming the bad key or address.
 */
export function checkMemcachedOptions(options: MemcachedBackendOptions): string[] {
  rejectUnknownOptions("MemcachedBackend", options, {
    ...BACKEND_OPTION_NAMES,
    host: true,
    port: true,
    servers: true,
    poolSize: true,
    casRetries: true,
    maxWaitingPerKey: true,
    generationRefreshMs: true,
    clock: true,
    degradedMode: true,
  });
  const names = options.servers ?? [`${options.host ?? "127.0.0.1"}:${options.port ?? 11211}`];
  if (names.length === 0) throw new ConfigurationError("MemcachedBackend: servers is empty.");
  for (const name of names) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(name);
    if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new ConfigurationError(
        `MemcachedBackend: invalid server ${JSON.stringify(name)}; expected "host:port".`,
      );
    }
  }
  return [...new Set(names)];
}

/**
 * `value` if it is a whole number of at least 1.
 * @throws {ConfigurationError} naming the option otherwise.
 */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ConfigurationError(`MemcachedBackend: ${name} must be a whole number of at least 1.`);
  }
  return value;
}
