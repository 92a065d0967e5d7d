import { isIPv4, isIPv6 } from "node:net";

/** An address as 16 bytes; IPv4 is held in its IPv4-mapped IPv6 form (::ffff:a.b.c.d). */
export type AddressBytes = Uint8Array;

const MAPPED_PREFIX = "::ffff:";

/**
 * Strips an IPv6 zone (`fe80::1%eth0`) and folds an IPv4-mapped IPv6 address to IPv4, however
 * it is written (`::ffff:1.2.3.4`, `::ffff:102:304`, `0:0:0:0:0:FFFF:0102:0304`), so that no
 * spelling of one IPv4 client lands elsewhere.
 */
export function canonicalAddress(address: string): string {
  const zone = address.indexOf("%");
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (
    bare.length > MAPPED_PREFIX.length &&
    bare.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX
  ) {
    const v4 = bare.slice(MAPPED_PREFIX.length);
    if (isIPv4(v4)) return v4;
  }
  // Only an address that spells "ffff" can be mapped; the rest skip the parse.
  if (!bare.toLowerCase().includes("ffff")) return bare;
  const bytes = addressBytes(bare);
  if (bytes === undefined || !isMapped(bytes)) return bare;
  return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
}

/** Whether 16 address bytes are `::ffff:0:0/96`, IPv4-mapped IPv6. */
function isMapped(bytes: AddressBytes): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The 16 bytes of an IPv4 or IPv6 address, or `undefined` if it is neither. */
export function addressBytes(address: string): AddressBytes | undefined {
  const bytes = new Uint8Array(16);
  if (isIPv4(address)) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    address.split(".").forEach((part, i) => {
      bytes[12 + i] = Number(part);
    });
    return bytes;
  }
  if (!isIPv6(address)) return undefined;
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two hex groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = 8 - headGroups.length - tailGroups.length;
  const groups = [
    ...headGroups,
    ...new Array<string>(rest === undefined ? 0 : zeros).fill("0"),
    ...tailGroups,
  ];
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

/** Whether the first `prefixBits` bits of two addresses agree. */
export function samePrefix(a: AddressBytes, b: AddressBytes, prefixBits: number): boolean {
  const whole = prefixBits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const bits = prefixBits & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((a[whole] as number) & mask) === ((b[whole] as number) & mask);
}

/** The network of an IPv6 address at `prefixBits`, written `2001:db8:0:100::/56` style (uncompressed groups). */
export function ipv6Network(address: string, prefixBits: number): string {
  const bytes = addressBytes(address);
  if (bytes === undefined) return address;
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bitsBefore = i * 16;
    const keep = Math.max(0, Math.min(16, prefixBits - bitsBefore));
    const value =
      (((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number)) &
      ((0xffff << (16 - keep)) & 0xffff);
    groups.push(value.toString(16));
  }
  return `${groups.join(":")}/${prefixBits}`;
}
