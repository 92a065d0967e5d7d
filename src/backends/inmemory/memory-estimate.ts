import { getHeapStatistics } from "node:v8";

/**
 * Heap bytes one client state costs beyond its identity and its numbers: the table's Map slot,
 * the entry linking it into the eviction order, the array's and the string's headers. Measured
 * on Node 20 (x64): 227 bytes of heap per fixed-window client (2 numbers) with 13-character
 * identities, at 1 000 000 clients; 227 - 13 - 2 * 10 = 194, rounded up.
 */
const ENTRY_OVERHEAD = 196;

/**
 * Bytes per number of a state: 8 for the double, plus a quarter for the spare capacity V8
 * keeps in an array that grows in place (the sliding log's). Measured: 18 088 bytes of heap per
 * client for a full sliding log of 1 000 requests (2 002 numbers), estimated 20 228.
 */
const BYTES_PER_NUMBER = 10;

/**
 * The heap bytes estimated for one client state: what `maxBytes` counts. One byte per identity
 * character (identities outside Latin-1 take two, unaccounted).
 */
export function estimateBytes(identity: string, numbers: number): number {
  return ENTRY_OVERHEAD + identity.length + BYTES_PER_NUMBER * numbers;
}

/** The default `maxBytes`: a quarter of this process's heap limit. */
export function defaultMaxBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 4);
}
