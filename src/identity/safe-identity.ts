import { createHash } from "node:crypto";

/** Identities longer than this are stored as a hash, so no client can make keys grow unbounded. */
export const MAX_IDENTITY_LENGTH = 256;

/** The identity as stored: itself, or `#` + its SHA-256 (base64url) when it is too long. */
export function safeIdentity(identity: string): string {
  if (identity.length <= MAX_IDENTITY_LENGTH) return identity;
  return `#${createHash("sha256").update(identity).digest("base64url")}`;
}
