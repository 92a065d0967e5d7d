import type { Departure } from "../../throttles/turn.js";
import type { EngineConnection } from "./socket-slice.js";

/** What a handshake's wait for its turn rejects with when its client went away. */
const CLIENT_GONE = new Error("The client closed its connection before its handshake's turn came.");

/**
 * The departure of a Socket.IO client whose handshake waits for its turn: its Engine.IO
 * connection closing (at once for a WebSocket; a polling client is seen gone at Engine.IO's
 * ping timeout). @internal
 */
export class ConnectionDeparture implements Departure {
  readonly reason = CLIENT_GONE;

  constructor(private readonly connection: EngineConnection) {}

  get gone(): boolean {
    const state = this.connection.readyState;
    return state === "closing" || state === "closed";
  }

  watch(onGone: () => void): () => void {
    this.connection.once("close", onGone);
    return () => this.connection.off("close", onGone);
  }
}
