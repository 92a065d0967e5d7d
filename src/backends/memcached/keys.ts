import { createHash } from "node:crypto";

/** Memcached's limit on a key, in bytes. */
const MAX_KEY_BYTES = 250;
/** Printable ASCII without space: what a memcached text-protocol key may hold. */
const SAFE_KEY = /^[\x21-\x7e]+$/;

/**
 * The memcached key for a relative key under a namespace generation. A key that would be too
 * long, or holds whitespace, control or non-ASCII characters, is replaced by its SHA-256, so no
 * identity can break the protocol line or collide with another key.
 */
export function memcachedKey(namespace: string, generation: number, relative: string): string {
  const key = `${namespace}:${generation}:${relative}`;
  if (key.length <= MAX_KEY_BYTES && SAFE_KEY.test(key)) return key;
  const digest = createHash("sha256").update(relative).digest("base64url");
  return `${namespace}:${generation}:#${digest}`;
}

/** Memcached reads a relative expiry above 30 days as a Unix time; beyond that, send one. */
const MAX_RELATIVE_SECONDS = 30 * 24 * 3600;

/** The `exptime` for a time to live in ms: whole seconds, at least 1, absolute past 30 days. */
export function exptime(ttlMs: number, nowMs: number = Date.now()): number {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return seconds <= MAX_RELATIVE_SECONDS ? seconds : Math.ceil(nowMs / 1000) + seconds;
}
