import { createHmac, randomBytes } from "node:crypto";

/** Whether events carry a client's identity hashed (the default) or raw. */
export type EventIdentity = "hashed" | "raw";

// Keyed with a secret of this process, so that a hash cannot be reversed by hashing every
// IPv4 address (2^32 guesses): an identity's hash is stable for the life of the process.
const KEY = randomBytes(32);

/**
 * The identity an event carries: HMAC-SHA-256 of it under a random per-process key, first 16
 * hex digits (64 bits: collisions among a billion clients are unlikely), or the raw identity.
 * @internal
 */
export function eventIdentity(identity: string, form: EventIdentity): string {
  if (form === "raw") return identity;
  return createHmac("sha256", KEY).update(identity).digest("hex").slice(0, 16);
}
