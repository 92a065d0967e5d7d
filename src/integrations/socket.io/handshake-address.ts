import type { AddressableConnection } from "../../identity/client-address.js";

/** The address of each handshake, as the default identifier reads connections. */
const addresses = new WeakMap<object, AddressableConnection>();

/**
 * The client address of a Socket.IO socket, for the default identifier: the handshake's
 * `address`, which Engine.IO read from the peer of the client's first request (that request's
 * own socket may be long closed, with a polling client). `undefined` for anything that is not
 * a Socket.IO socket. Proxy headers are not read; see `throttleHandshake` for a proxy.
 */
export function handshakeAddress(connection: object): AddressableConnection | undefined {
  const handshake = (connection as { readonly handshake?: { readonly address?: unknown } | null })
    .handshake;
  if (typeof handshake !== "object" || handshake === null) return undefined;
  let found = addresses.get(handshake);
  if (found === undefined) {
    const address = handshake.address;
    if (typeof address !== "string") return undefined;
    found = { socket: { remoteAddress: address } };
    addresses.set(handshake, found);
  }
  return found;
}
