import { createHash } from "node:crypto";

/** Points per server on the ring: enough that keys spread evenly over a few servers. */
const POINTS_PER_SERVER = 160;

const hash32 = (text: string): number => createHash("md5").update(text).digest().readUInt32BE(0);

/**
 * Consistent hashing (the ketama idea): each server owns many points on a 32-bit ring and a
 * key goes to the first point at or after its hash. Adding or removing a server moves only the
 * keys of its own arcs.
 */
export class HashRing<S> {
  private readonly points: { at: number; server: S }[] = [];

  constructor(servers: readonly { name: string; server: S }[]) {
    for (const { name, server } of servers) {
      for (let i = 0; i < POINTS_PER_SERVER; i++) {
        this.points.push({ at: hash32(`${name}-${i}`), server });
      }
    }
    this.points.sort((a, b) => a.at - b.at);
  }

  /** The server that owns `key`. */
  serverFor(key: string): S {
    const points = this.points;
    if (points.length === POINTS_PER_SERVER) return (points[0] as { server: S }).server;
    const at = hash32(key);
    let low = 0;
    let high = points.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((points[middle] as { at: number }).at < at) low = middle + 1;
      else high = middle;
    }
    return (points[low === points.length ? 0 : low] as { server: S }).server;
  }
}
