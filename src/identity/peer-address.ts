/**
 * The one speed trick of client identification: a Node socket's peer address read where Node
 * keeps it once known. `socket.remoteAddress` is a getter that goes through `_getpeername()`
 * (two `_handle` getters, the handle's method, `connecting`) on every read, though Node asks
 * the kernel only once per connection and keeps the answer in `_peername`; while that is set,
 * the getter returns its `address`, whatever state the socket is in (connecting, destroyed).
 * Measured on real `IncomingMessage`s (`npm run bench`, `--no-turbo-inlining` profile):
 * `_getpeername` was 14% of the CPU of an in-memory fixed-window `hit` loop, most of
 * identifying the client.
 *
 * @module
 */

/** The slice of a socket read here; `_peername` is Node's `net.Socket` cache. */
interface PeerSocket {
  readonly remoteAddress?: string | undefined;
  readonly _peername?: { readonly address?: string | undefined } | undefined;
}

/** `socket.remoteAddress`, from Node's cache when it has one. @internal */
export function peerAddress(socket: PeerSocket): string | undefined {
  const known = socket._peername;
  return known !== undefined && known !== null ? known.address : socket.remoteAddress;
}
