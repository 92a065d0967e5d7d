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
