import { ConnectionThrottled } from "../errors.js";
import type { IdentifiableConnection } from "../identity/client-address.js";
import { BaseThrottle } from "./base.js";

/**
 * Throttles WebSocket messages (or handshakes). The connection is the upgrade request by
 * default, so a client is known by its address for the life of the socket; with a custom
 * `identifier`, any type. The default handler throws `ConnectionThrottled` with
 * "Too many messages"; catch it to answer the client and carry on, or close the socket.
 */
export class WebSocketThrottle<C = IdentifiableConnection> extends BaseThrottle<C> {
  protected override throttledError(waitMs: number): ConnectionThrottled {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    return ConnectionThrottled.answer({
      waitMs,
      headers: this.headers,
      detail: `Too many messages. Retry in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    });
  }
}
