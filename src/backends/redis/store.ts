import { randomUUID } from "node:crypto";
import {
  type DegradableBackend,
  type DegradedModeOptions,
  degradedModeOption,
} from "../degraded/options.js";
import { pollForLock } from "../poll-lock.js";
import type { DecisionRequest, Lock, LockOptions } from "../types.js";
import { stateKey } from "./keys.js";
import { RedisLink } from "./link.js";
import { RELEASE_LOCK_LUA } from "./lua/primitives.js";
import type { RedisBackendOptions } from "./options.js";
import { script } from "./script.js";

const RELEASE_LOCK = script(RELEASE_LOCK_LUA);

/**
 * The store half of {@link RedisBackend}: the primitives and locks, `clear()`, `reset()`, and
 * where each client's state lives (its key, its cluster node). Decisions are the backend's.
 * Not exported: it reaches the published types only as {@link RedisBackend}'s base class.
 */
export abstract class RedisStore extends RedisLink implements DegradableBackend {
  readonly degradedMode: DegradedModeOptions | false;

  /**
   * @throws {ConfigurationError} for a malformed connection URL or an unknown option.
   * @throws {BackendConfigurationError} for a client that is neither an ioredis nor a node-redis one.
   */
  constructor(options: RedisBackendOptions) {
    super(options);
    this.degradedMode = degradedModeOption(options.degradedMode);
  }

  /** The cluster master that decides `request` as the client knows it now (`""` off a cluster). */
  outageNode(request: DecisionRequest): string {
    return this.link?.masterOf(this.key(stateKey(request.uid, request.identity))) ?? "";
  }

  override async clear(uid: string, identity: string): Promise<void> {
    const key = this.key(stateKey(uid, identity));
    const link = await this.connected();
    await this.call(() => link.send(["DEL", key], key));
  }

  protected override stateKey(uid: string, identity: string): string {
    return stateKey(uid, identity);
  }

  async get(key: string): Promise<string | null> {
    const link = await this.connected();
    const at = this.key(key);
    return this.call(() => link.send(["GET", at], at) as Promise<string | null>);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const link = await this.connected();
    const at = this.key(key);
    const expiry = ttlMs === undefined ? [] : ["PX", String(Math.max(1, Math.ceil(ttlMs)))];
    await this.call(() => link.send(["SET", at, value, ...expiry], at));
  }

  async delete(key: string): Promise<void> {
    const link = await this.connected();
    const at = this.key(key);
    await this.call(() => link.send(["DEL", at], at));
  }

  /**
   * A lock with a random token and a TTL (`SET NX PX`): it cannot outlive a crashed holder, and
   * only the holder's release (compare-and-delete in Lua) frees it. Blocking waits poll with a
   * growing pause until `blockingTimeoutMs`.
   */
  async lock(name: string, options: LockOptions = {}): Promise<Lock> {
    const link = await this.connected();
    const ttlMs = Math.max(1, Math.ceil(options.ttlMs ?? this.lockTtlMs));
    const key = this.key(`lock:${name}`);
    const token = randomUUID();
    await pollForLock(name, ttlMs, options, async () => {
      const set = ["SET", key, token, "PX", String(ttlMs), "NX"];
      return (await this.call(() => link.send(set, key))) === "OK";
    });
    return {
      release: async () =>
        Number(await this.withinTimeout(this.script(RELEASE_LOCK, [key], [token]))) === 1,
    };
  }

  /**
   * Removes every key of the namespace with `SCAN` (never `KEYS`), on every cluster master.
   * Each command has the deadline: a frozen server fails this, it cannot hold it.
   */
  async reset(): Promise<void> {
    const link = await this.connected();
    const nodes = await this.call(() => link.masters());
    for (const send of nodes) {
      let cursor = "0";
      do {
        const scan = ["SCAN", cursor, "MATCH", `${this.namespace}:*`, "COUNT", "1000"];
        const [next, keys] = (await this.call(() => send(scan))) as [string, string[]];
        cursor = next;
        // One key per UNLINK: keys found on one cluster node may sit in different slots.
        if (keys.length > 0) {
          await Promise.all(keys.map((key) => this.call(() => send(["UNLINK", key]))));
        }
      } while (cursor !== "0");
    }
  }
}
