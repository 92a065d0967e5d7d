/**
 * Who is decided at all: a connection whose address is on the deny list is refused, one on the
 * allow list or that `skip` picks is exempt (as `UNLIMITED`), before any identity, cost or
 * backend. Built once from the options; absent when none is given, so it costs nothing then.
 *
 * @module
 */
import { ConfigurationError, ConnectionDenied } from "../errors.js";
import { type AddressList, compileAddressList } from "../identity/address-list.js";
import { fullClientAddress, type IdentifiableConnection } from "../identity/client-address.js";
import type { Eventually } from "./sync-or-async.js";

/** Who a throttle or a middleware leaves alone, or refuses. */
export interface AccessOptions<C> {
  /**
   * Exempts a connection when it returns `true`: it is not counted and gets no decision, as if
   * the identifier returned `UNLIMITED`. Runs before the identifier, after the address lists.
   */
  skip?: (connection: C) => boolean | Promise<boolean>;
  /**
   * Client addresses and CIDR ranges (`"10.0.0.0/8"`, `"2001:db8::/32"`) exempt from the limit,
   * as `UNLIMITED`. Matched against the whole client address as the default identifier finds
   * it (the framework's `req.ip` under its proxy settings, else the socket's peer), IPv4-mapped
   * IPv6 as IPv4.
   */
  allowList?: readonly string[];
  /**
   * Client addresses and CIDR ranges refused outright with `ConnectionDenied` (HTTP 403, no
   * `Retry-After`; a `ws` socket closed with 1008), without asking the backend. An address on
   * both lists is denied.
   */
  denyList?: readonly string[];
}

/**
 * Whether a connection is exempt (`true`) or to be decided (`false`); throws `ConnectionDenied`
 * for a denied one. @internal
 */
export type AccessCheck<C> = (connection: C) => Eventually<boolean>;

/**
 * The check for `options`, or `undefined` when it has nothing to check. @internal
 *
 * @throws {ConfigurationError} for a list entry that is not an address or CIDR range (named),
 * or a `skip` that is not a function.
 */
export function accessCheck<C>(
  options: AccessOptions<C>,
  where: string,
): AccessCheck<C> | undefined {
  const { skip, allowList, denyList } = options;
  if (skip !== undefined && typeof skip !== "function") {
    throw new ConfigurationError(`${where}: skip must be a function of the connection.`);
  }
  const deny = listOf(denyList, `${where}: denyList`);
  const allow = listOf(allowList, `${where}: allowList`);
  if (deny === undefined && allow === undefined) return skip;
  return (connection) => {
    const address = fullClientAddress(connection as IdentifiableConnection);
    if (address !== undefined) {
      if (deny?.matches(address)) throw new ConnectionDenied();
      if (allow?.matches(address)) return true;
    }
    return skip === undefined ? false : skip(connection);
  };
}

function listOf(entries: readonly string[] | undefined, where: string): AddressList | undefined {
  if (entries === undefined) return undefined;
  const list = compileAddressList(entries, where);
  return entries.length === 0 ? undefined : list;
}
