import type { Departure } from "../../throttles/turn.js";

/** What a message's wait for its turn rejects with when its socket closes. */
const SOCKET_CLOSED = new Error("The socket closed before the message's turn came.");

/**
 * The departure of a guarded socket's client, shared by every message waiting on the socket:
 * a plain set of watchers, so a thousand waiting messages add no listener to any EventTarget
 * (an AbortSignal would warn past ten). @internal
 */
export class SocketClosing implements Departure {
  readonly reason = SOCKET_CLOSED;
  private closed = false;
  private readonly watchers = new Set<() => void>();

  get gone(): boolean {
    return this.closed;
  }

  watch(onGone: () => void): () => void {
    this.watchers.add(onGone);
    return () => this.watchers.delete(onGone);
  }

  /** The socket closed: every wait on it ends now. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const onGone of watchers) onGone();
  }
}

/** The slice of a `ws` WebSocket watched by {@link closingOf}. */
interface ClosableSocket {
  readonly readyState: number;
  once(event: "close", listener: () => void): unknown;
}

/** `ws`'s readyState CLOSING: from then on, the socket's client is gone. */
const CLOSING = 2;

const closings = new WeakMap<object, SocketClosing>();

/**
 * The one departure of a `ws` socket's client, made on first use and shared by every message
 * that waits on that socket (one `close` listener per socket, not per message); `undefined`
 * for a client that is not a `ws` socket. @internal
 */
export function closingOf(client: object): SocketClosing | undefined {
  let closing = closings.get(client);
  if (closing !== undefined) return closing;
  const socket = client as Partial<ClosableSocket>;
  if (typeof socket.once !== "function" || typeof socket.readyState !== "number") return undefined;
  const made = new SocketClosing();
  if (socket.readyState >= CLOSING) made.close();
  else socket.once("close", () => made.close());
  closings.set(client, made);
  closing = made;
  return closing;
}
