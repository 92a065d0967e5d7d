/**
 * The key of a client's state in one throttle: `{identity}:uid`. The identity is the hash tag,
 * so all of one client's throttles share a cluster slot (a group decision is one script) while
 * clients spread over the cluster. Braces and `%` in the identity are percent-encoded, so no
 * identity can end its tag early, choose another slot, or collide with another identity.
 */
export function stateKey(uid: string, identity: string): string {
  return `{${encodeIdentity(identity)}}:${uid}`;
}

function encodeIdentity(identity: string): string {
  if (!needsEncoding(identity)) return identity;
  return identity.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Whether `identity` holds `{`, `}` or `%`; a loop, since this runs for every decision. */
function needsEncoding(identity: string): boolean {
  for (let i = 0; i < identity.length; i++) {
    const code = identity.charCodeAt(i);
    if (code === 123 || code === 125 || code === 37) return true;
  }
  return false;
}
