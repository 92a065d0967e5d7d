import type { RedisClient } from "./connection.js";

/** The Redis Cluster hash slot of `key`: CRC16 (XMODEM) of its hash tag, or of all of it. */
export function keySlot(key: string): number {
  let hashed = key;
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) hashed = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc % 16384;
}

/**
 * The node that serves `key` as the client knows it now: `host:port` of the slot's master on a
 * cluster (it changes when a replica takes over), `""` for a single server.
 */
export function nodeOf(client: RedisClient | undefined, key: string): string {
  if (client === undefined || !client.isCluster) return "";
  const owners = (client as { slots?: readonly (readonly string[] | undefined)[] }).slots;
  return owners?.[keySlot(key)]?.[0] ?? "";
}
