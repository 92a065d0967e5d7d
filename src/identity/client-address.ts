import { isIP } from "node:net";
import { ConfigurationError } from "../errors.js";
import { rejectUnknownOptions } from "../internal/known-keys.js";
import {
  type AddressBytes,
  addressBytes,
  canonicalAddress,
  ipv6Network,
  samePrefix,
} from "./ip.js";
import { peerAddress } from "./peer-address.js";

/** The slice of a Node `IncomingMessage` (and of the requests of frameworks built on it) read here. */
export interface AddressableConnection {
  /** The connection's socket. */
  readonly socket?:
    | {
        /** The peer's address, as the socket reports it. */
        readonly remoteAddress?: string | undefined;
      }
    | null
    | undefined;
  /** The request's headers, lower-cased; a forwarding header is read only from trusted proxies. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
}

/**
 * What the default identifier reads: a framework's own client address (`req.ip` in Express,
 * `request.ip` in Fastify, both under their proxy settings), a Node request's socket, a `ws`
 * socket, or a framework's own connection object whose adapter tells where its Node request
 * is (each adapter teaches the core where, when it loads).
 */
export interface IdentifiableConnection extends AddressableConnection {
  /** The client address a framework resolved under its own proxy settings (`req.ip`). */
  readonly ip?: string | undefined;
}

/** Finds the Node request behind a framework's own connection object, if it is one. */
export type NodeRequestReader = (connection: object) => AddressableConnection | undefined;

const nodeRequestReaders: NodeRequestReader[] = [];

/**
 * Teaches the default identifier where a framework keeps the Node request behind its own
 * connection object, so that the core knows no framework: each adapter calls it once, when it
 * loads. Readers run only for connections with neither `ip` nor `socket`. @internal
 */
export function readNodeRequestWith(reader: NodeRequestReader): void {
  if (!nodeRequestReaders.includes(reader)) nodeRequestReaders.push(reader);
}

/** Options of {@link clientAddress}. */
export interface ClientAddressOptions {
  /**
   * Proxies whose forwarding header is believed: addresses or CIDR ranges
   * (`"10.0.0.0/8"`, `"::1"`). None by default, so a client cannot pick its own address.
   */
  trustedProxies?: readonly string[];
  /** The header your trusted proxies write. @default "x-forwarded-for" */
  proxyHeader?: "x-forwarded-for" | "forwarded";
  /**
   * IPv6 clients are grouped by network prefix of this many bits, since one subscriber
   * usually holds a whole /56 or /64 and could rotate through it. @default 56
   */
  ipv6Subnet?: number;
}

const DEFAULT_IPV6_SUBNET = 56;

/**
 * At most this many forwarding hops are examined, whatever the header holds. Past them, with
 * every hop so far trusted, the client cannot be traced: no address is answered, rather than a
 * proxy's (one bucket for every such client) or one further left (which its sender chose).
 */
const MAX_HOPS = 32;

interface TrustedRange {
  readonly bytes: AddressBytes;
  readonly prefixBits: number;
}

/**
 * Builds a function that finds a connection's client address: the socket's peer, or, when the
 * peer is a trusted proxy, the nearest untrusted hop of the forwarding header read from the
 * right (a hop may carry a port: `ip:port`, `[v6]:port`); when every hop is trusted, the
 * left-most. IPv4-mapped IPv6 is folded to IPv4; IPv6 is reduced to its network at `ipv6Subnet`.
 * Returns `undefined` when the connection has no address, or when more than 32 hops are all
 * trusted, so that the client cannot be traced.
 *
 * @throws {ConfigurationError} for a malformed proxy address or subnet.
 */
export function clientAddress(
  options: ClientAddressOptions = {},
): (connection: AddressableConnection) => string | undefined {
  rejectUnknownOptions("clientAddress", options, {
    trustedProxies: true,
    proxyHeader: true,
    ipv6Subnet: true,
  });
  const ipv6Subnet = options.ipv6Subnet ?? DEFAULT_IPV6_SUBNET;
  if (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128) {
    throw new ConfigurationError(
      `ipv6Subnet must be a whole number from 1 to 128, got ${ipv6Subnet}.`,
    );
  }
  const trusted = (options.trustedProxies ?? []).map(parseRange);
  const headerName = options.proxyHeader ?? "x-forwarded-for";
  const readHop = headerName === "forwarded" ? forwardedFor : hopAddress;

  const finish = (address: string): string =>
    address.includes(":") && ipv6Subnet < 128 ? ipv6Network(address, ipv6Subnet) : address;
  const isTrusted = (address: string): boolean => {
    const bytes = addressBytes(address);
    return (
      bytes !== undefined &&
      trusted.some((range) => samePrefix(bytes, range.bytes, range.prefixBits))
    );
  };

  return function resolveClientAddress(connection) {
    const socket = connection.socket;
    const peer = socket === undefined || socket === null ? undefined : peerAddress(socket);
    if (typeof peer !== "string" || peer === "") return undefined;
    // The common case, a plain IPv4 peer and no proxy to trust, needs no parsing.
    if (trusted.length === 0 && peer.indexOf(":") === -1) return peer;
    let address = canonicalAddress(peer);
    if (trusted.length === 0 || !isTrusted(address)) return finish(address);

    const raw = connection.headers?.[headerName];
    const header = typeof raw === "string" ? raw : Array.isArray(raw) ? raw.join(",") : "";
    let end = header.length;
    for (let hop = 0; end > 0; hop++) {
      if (hop === MAX_HOPS) return undefined;
      const start = header.lastIndexOf(",", end - 1);
      const candidate = readHop(header.slice(start + 1, end));
      end = start;
      // A malformed hop was not written by a trusted proxy: stop at the last good address.
      if (candidate === undefined || isIP(candidate) === 0) break;
      address = canonicalAddress(candidate);
      if (!isTrusted(address)) break;
    }
    return finish(address);
  };
}

const socketAddress = clientAddress();
const fullSocketAddress = clientAddress({ ipv6Subnet: 128 });

/**
 * The client address the default identifier uses: the framework's resolved `ip` when there is
 * one (so its `trust proxy` settings apply), else the socket's peer, forwarding headers ignored.
 * IPv4-mapped IPv6 is folded to IPv4 and IPv6 is grouped by /56, as {@link clientAddress} does.
 */
export function defaultClientAddress(connection: IdentifiableConnection): string | undefined {
  const ip = connection.ip;
  if (typeof ip === "string" && ip !== "") {
    if (ip.indexOf(":") === -1) return ip;
    const address = canonicalAddress(ip);
    return address.includes(":") ? ipv6Network(address, DEFAULT_IPV6_SUBNET) : address;
  }
  return addressThrough(connection, socketAddress);
}

/**
 * The client address found as {@link defaultClientAddress} finds it, but whole: an IPv6
 * address is not reduced to its network. What allow and deny lists match. @internal
 */
export function fullClientAddress(connection: IdentifiableConnection): string | undefined {
  const ip = connection.ip;
  if (typeof ip === "string" && ip !== "")
    return ip.indexOf(":") === -1 ? ip : canonicalAddress(ip);
  return addressThrough(connection, fullSocketAddress);
}

/** The address `resolve` finds on the connection's Node request or socket, wherever it is. */
function addressThrough(
  connection: IdentifiableConnection,
  resolve: (connection: AddressableConnection) => string | undefined,
): string | undefined {
  if (connection.socket) return resolve(connection);
  for (const read of nodeRequestReaders) {
    const request = read(connection);
    if (request !== undefined) return resolve(request);
  }
  // A `ws` WebSocket keeps its TCP socket here (NestJS gateways hand throttles the client).
  const wsSocket = (connection as { _socket?: AddressableConnection["socket"] })._socket;
  return resolve(wsSocket ? { socket: wsSocket } : connection);
}

function parseRange(range: string): TrustedRange {
  const [address = "", bits] = range.split("/");
  const bytes = addressBytes(canonicalAddress(address.trim()));
  const isV4 = isIP(address.trim()) === 4;
  const maxBits = isV4 ? 32 : 128;
  const prefix = bits === undefined ? maxBits : Number(bits);
  if (bytes === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > maxBits) {
    throw new ConfigurationError(
      `Invalid trusted proxy ${JSON.stringify(range)}: expected an IP address or CIDR range.`,
    );
  }
  // IPv4 ranges are held in the IPv4-mapped space, 96 bits in.
  return { bytes, prefixBits: isV4 ? 96 + prefix : prefix };
}

/** The address in one `Forwarded` element's `for=` parameter, without quotes, brackets or port. */
function forwardedFor(element: string): string | undefined {
  for (const pair of element.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== "for") continue;
    const value = pair.slice(eq + 1).trim();
    return hopAddress(value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value);
  }
  return undefined;
}

/**
 * The address of one hop, without brackets or port: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`,
 * `[2001:db8::1]` or `[2001:db8::1]:80`. `undefined` when a port is not 1 to 5 digits.
 */
function hopAddress(hop: string): string | undefined {
  const text = hop.trim();
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    return close !== -1 && isPortOrNothing(text.slice(close + 1))
      ? text.slice(1, close)
      : undefined;
  }
  const colon = text.indexOf(":");
  // One colon is IPv4 with a port; more are a bare IPv6 address.
  if (colon === -1 || text.indexOf(":", colon + 1) !== -1) return text;
  return isPortOrNothing(text.slice(colon)) ? text.slice(0, colon) : undefined;
}

function isPortOrNothing(text: string): boolean {
  return text === "" || /^:\d{1,5}$/.test(text);
}
