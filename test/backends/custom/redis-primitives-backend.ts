import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import {
  type Lock,
  type LockOptions,
  pollForLock,
  ThrottleBackend,
  type ThrottleBackendOptions,
} from "../../../src/backend.js";

/**
 * A user's store, as the contract asks for it: only the five required methods, on a Redis
 * connection its owner opens and closes, using GET, SET PX, DEL, and SET NX PX for its locks
 * (plus SCAN for `reset`, which no decision calls). No scripts, no transactions: every
 * strategy's atomicity comes from the base class's lock path.
 */
export class RedisPrimitivesBackend extends ThrottleBackend {
  constructor(
    private readonly client: Redis,
    options: ThrottleBackendOptions,
  ) {
    super(options);
  }

  private key(key: string): string {
    return `${this.namespace}:${key}`;
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.key(key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.client.set(this.key(key), value);
    else await this.client.set(this.key(key), value, "PX", Math.max(1, Math.ceil(ttlMs)));
  }

  async delete(key: string): Promise<void> {
    await this.client.del(this.key(key));
  }

  /**
   * SET NX PX with a token, polled while held. The release checks the token, then deletes: not
   * atomic, so it is safe only while a hold ends well within its TTL, as every hold of the lock
   * path does (its deadline is shorter than the TTL).
   */
  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const key = this.key(`lock:${name}`);
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? 5000));
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      return (await this.client.set(key, token, "PX", ttlMs, "NX")) === "OK";
    });
    return {
      release: async () => {
        if ((await this.client.get(key)) !== token) return false;
        await this.client.del(key);
        return true;
      },
    };
  }

  async reset(): Promise<void> {
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", `${this.namespace}:*`);
      if (keys.length > 0) await this.client.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
}
