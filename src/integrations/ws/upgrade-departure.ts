import type { Duplex } from "node:stream";
import type { Departure } from "../../throttles/turn.js";

/** What a handshake's wait for its turn rejects with when its client closed the socket. */
const HANDSHAKE_GONE = new Error("The client closed the socket before its handshake's turn came.");

/**
 * The departure of a client whose WebSocket handshake waits for its turn. Node hands an
 * upgrade request's socket over unread, so a client's FIN would go unseen; while the handshake
 * waits, the socket is read. A client may send nothing before its handshake is answered (RFC
 * 6455, 4.1), so data during the wait ends the socket. Once the wait is over the socket keeps
 * flowing with no reader until `handleUpgrade` attaches `ws`'s, in the same turn or a later
 * microtask: no socket data can arrive in between. @internal
 */
export class UpgradeDeparture implements Departure {
  readonly reason = HANDSHAKE_GONE;

  constructor(private readonly socket: Duplex) {}

  get gone(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  watch(onGone: () => void): () => void {
    const socket = this.socket;
    const spoke = () => socket.destroy();
    socket.once("end", onGone);
    socket.once("close", onGone);
    socket.on("data", spoke);
    return () => {
      socket.off("end", onGone);
      socket.off("close", onGone);
      socket.off("data", spoke);
    };
  }
}
