/**
 * Allow and deny lists of addresses and CIDR ranges, compiled once: a lookup costs one hash probe
 * per distinct prefix length in the list (IPv4 as a 32-bit number, IPv6 as a bigint), whatever
 * the list's size, and reads at most {@link MAX_ADDRESS_LENGTH} characters of hostile input.
 *
 * @module
 */
import { isIP } from "node:net";
import { ConfigurationError } from "../errors.js";
import { addressBytes, canonicalAddress } from "./ip.js";

/**
 * The longest address text looked at: a full IPv6 address with an embedded IPv4 tail is 45
 * characters; a zone may follow. Anything longer is no address and matches nothing.
 */
const MAX_ADDRESS_LENGTH = 64;

/** A compiled list of addresses and CIDR ranges. @internal */
export interface AddressList {
  /** Whether `address` (IPv4, IPv6, IPv4-mapped IPv6, with or without a zone) is in the list. */
  matches(address: string): boolean;
}

/** Networks of one family, by prefix length: each set holds the networks' masked numbers. */
type Networks<N> = Map<number, Set<N>>;

/**
 * Compiles `entries` (`"203.0.113.7"`, `"10.0.0.0/8"`, `"2001:db8::/32"`, `"::ffff:10.0.0.1"`)
 * into an {@link AddressList}. IPv4-mapped IPv6 entries are held as IPv4. @internal
 *
 * @throws {ConfigurationError} naming the first entry that is not an address or CIDR range, or
 * whose prefix is longer than its address.
 */
export function compileAddressList(entries: readonly string[], where: string): AddressList {
  if (!Array.isArray(entries)) {
    throw new ConfigurationError(`${where} must be an array of addresses or CIDR ranges.`);
  }
  const v4: Networks<number> = new Map();
  const v6: Networks<bigint> = new Map();
  for (const entry of entries) {
    const range = typeof entry === "string" ? parseRange(entry) : undefined;
    if (range === undefined) {
      throw new ConfigurationError(
        `${where}: ${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR range (such as "10.0.0.0/8" or "2001:db8::/32").`,
      );
    }
    if (range.family === 4) add(v4, range.prefix, maskV4(range.network, range.prefix));
    else add(v6, range.prefix, maskV6(range.network, range.prefix));
  }
  const v4Prefixes = [...v4.entries()];
  const v6Prefixes = [...v6.entries()];
  const matchesV4 = (four: number): boolean => {
    for (const [prefix, set] of v4Prefixes) if (set.has(maskV4(four, prefix))) return true;
    return false;
  };
  return Object.freeze({
    matches(address: string): boolean {
      if (typeof address !== "string" || address.length > MAX_ADDRESS_LENGTH) return false;
      const four = parseV4(address);
      if (four !== undefined) return matchesV4(four);
      if (address.indexOf(":") === -1) return false;
      // Zone stripped; an IPv4-mapped address, however spelled, is matched as IPv4.
      const canonical = canonicalAddress(address);
      const mapped = parseV4(canonical);
      if (mapped !== undefined) return matchesV4(mapped);
      const six = v6Prefixes.length === 0 ? undefined : v6Number(canonical);
      if (six === undefined) return false;
      for (const [prefix, set] of v6Prefixes) if (set.has(maskV6(six, prefix))) return true;
      return false;
    },
  });
}

type Range =
  | { readonly family: 4; readonly network: number; readonly prefix: number }
  | { readonly family: 6; readonly network: bigint; readonly prefix: number };

function parseRange(entry: string): Range | undefined {
  const text = entry.trim();
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const bits = slash === -1 ? undefined : text.slice(slash + 1);
  if (address.length > MAX_ADDRESS_LENGTH || address.includes("%")) return undefined;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const written = isIP(address);
  if (written === 0) return undefined;
  const canonical = canonicalAddress(address);
  const four = parseV4(canonical);
  if (four !== undefined) {
    // A mapped entry's prefix counts the 96 bits of ::ffff:0:0 before the IPv4 address.
    const offset = written === 6 ? 96 : 0;
    const prefix = bits === undefined ? 32 : Number(bits) - offset;
    return prefix >= 0 && prefix <= 32 ? { family: 4, network: four, prefix } : undefined;
  }
  const network = v6Number(canonical);
  const prefix = bits === undefined ? 128 : Number(bits);
  if (network === undefined || prefix > 128) return undefined;
  return { family: 6, network, prefix };
}

function add<N>(networks: Networks<N>, prefix: number, network: N): void {
  let set = networks.get(prefix);
  if (set === undefined) {
    set = new Set();
    networks.set(prefix, set);
  }
  set.add(network);
}

/**
 * A dotted-quad IPv4 address as an unsigned 32-bit number, read strictly (four decimal parts
 * of 0 to 255, no leading zeros, nothing else), or `undefined`. No allocation: this runs on
 * every request a list screens.
 */
function parseV4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? 46 : text.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || parts === 4) return undefined;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (code - 48);
      if (++digits > 3 || part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? value : undefined;
}

function maskV4(address: number, prefix: number): number {
  if (prefix === 0) return 0;
  return (address & (0xffffffff << (32 - prefix))) >>> 0;
}

/** An IPv6 address (no zone) as a 128-bit number, or `undefined`. */
function v6Number(address: string): bigint | undefined {
  const bytes = addressBytes(address);
  if (bytes === undefined) return undefined;
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

const ALL_ONES_128 = (1n << 128n) - 1n;

function maskV6(address: bigint, prefix: number): bigint {
  const mask = (ALL_ONES_128 >> BigInt(128 - prefix)) << BigInt(128 - prefix);
  return address & mask;
}
