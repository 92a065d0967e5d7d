/** The error a script answers when it ran after its deadline; it wrote nothing. */
export const LATE_REPLY = "TRAFFIK_LATE";

/**
 * The whole error of a decision run after its deadline on the server's clock. The client
 * stopped waiting for the call at that moment and answered it by `onError`; a call run later
 * (the server was frozen, or far behind) must not charge the client for it.
 */
export const LATE_ERROR = `${LATE_REPLY} the deadline had passed when the server ran this call; nothing was written`;
