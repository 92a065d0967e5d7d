import { createHash } from "node:crypto";

/** Stored identities are at most this long, so no client can make keys grow unbounded. */
export const MAX_IDENTITY_LENGTH = 256;

/** Starts every hashed identity; no plain identity starts with it. */
const HASHED = "#";
/** Starts every escaped identity; no plain identity starts with it. */
const ESCAPED = "~";
/** Within an escaped identity: itself doubled, or `u` and four hex digits for a lone surrogate. */
const ESCAPE = "\\";

/**
 * The identity as stored: a different identity never gives the same text, nor the same UTF-8
 * bytes, so no client can share another's bucket on any backend. Three spaces, told apart by
 * their first character:
 *
 * - plain: at most 256 code units, well-formed UTF-16, not starting with `#` or `~`: itself;
 * - escaped: otherwise, when it fits in 256: `~` and the identity with `\` doubled and each lone
 *   surrogate (which UTF-8 cannot carry; clients send U+FFFD for all of them) written as `\u`
 *   and its four hex digits;
 * - hashed: beyond that, `#` and the SHA-256 (base64url) of its UTF-16 code units.
 */
export function safeIdentity(identity: string): string {
  if (identity.length <= MAX_IDENTITY_LENGTH && isPlain(identity)) return identity;
  if (identity.length < MAX_IDENTITY_LENGTH) {
    const escaped = ESCAPED + escapeIdentity(identity);
    if (escaped.length <= MAX_IDENTITY_LENGTH) return escaped;
  }
  // UTF-16 code units, unlike UTF-8, keep lone surrogates apart.
  return HASHED + createHash("sha256").update(identity, "utf16le").digest("base64url");
}

/** Whether an identity can be stored as itself; a loop, since this runs for every decision. */
function isPlain(identity: string): boolean {
  const first = identity.charAt(0);
  if (first === HASHED || first === ESCAPED) return false;
  for (let i = 0; i < identity.length; i++) {
    const code = identity.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    // A high surrogate followed by a low one is a pair; any other surrogate is alone.
    if (code > 0xdbff || !isLowSurrogate(identity.charCodeAt(i + 1))) return false;
    i++;
  }
  return true;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function escapeIdentity(identity: string): string {
  let out = "";
  for (let i = 0; i < identity.length; i++) {
    const char = identity.charAt(i);
    const code = identity.charCodeAt(i);
    if (char === ESCAPE) {
      out += ESCAPE + ESCAPE;
    } else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(identity.charCodeAt(i + 1))) {
      out += char + identity.charAt(++i);
    } else if (code >= 0xd800 && code <= 0xdfff) {
      out += `${ESCAPE}u${code.toString(16)}`;
    } else {
      out += char;
    }
  }
  return out;
}
