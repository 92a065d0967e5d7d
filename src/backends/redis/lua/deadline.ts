/** The error a script answers when it ran after its deadline; it wrote nothing. */
export const LATE_REPLY = "TRAFFIK_LATE";

/**
 * Lua statements that end the script, before it writes anything, when the server's clock is
 * past `deadline` (a Lua expression: ms on the server's clock, or nil for none). The client
 * stopped waiting for the call at that moment and answered it by `onError`; a call run later
 * (the server was frozen, or far behind) must not charge the client for it. Needs `server_ms`
 * (`BASE_LUA`).
 */
export function declineAfter(deadline: string): string {
  return `if ${deadline} ~= nil and server_ms() > ${deadline} then
  return redis.error_reply("${LATE_REPLY} the deadline had passed when the server ran this call; nothing was written")
end`;
}

/** The deadline carried in a mode argument: "c" (consume) or "c:<deadline>", or "p" (peek). */
export const MODE_DEADLINE = "tonumber(string.sub(ARGV[1], 3))";
