import type { Cluster, Redis } from "ioredis";
import { BackendConfigurationError } from "../../errors.js";
import type { ClientLink, NodeRedisClient } from "./client-link.js";
import { IoredisLink } from "./ioredis-link.js";
import { NodeRedisLink } from "./node-redis-link.js";

/** What each library's clients have, as this backend uses them: methods, then properties. */
const IOREDIS = { methods: ["call", "evalsha", "eval", "on", "connect", "quit"], status: "string" };
const NODE_REDIS = { methods: ["sendCommand", "connect", "on", "off"], isOpen: "boolean" };

/**
 * The link to `client`, by what it can do, not by its class (another copy of a library would
 * not share it): an ioredis `Redis` or `Cluster` (`status`, `evalsha()`, ...) or a node-redis
 * client or cluster (`isOpen`, `sendCommand()`, ...).
 * @throws {BackendConfigurationError} for anything else, naming what it was and what it lacks.
 */
export function linkFor(client: unknown): ClientLink {
  const ioredisLacks = lacking(client, IOREDIS.methods, "status", IOREDIS.status);
  if (ioredisLacks.length === 0) return new IoredisLink(client as Redis | Cluster);
  const nodeRedisLacks = lacking(client, NODE_REDIS.methods, "isOpen", NODE_REDIS.isOpen);
  if (nodeRedisLacks.length === 0) return new NodeRedisLink(client as NodeRedisClient);
  throw new BackendConfigurationError(
    `RedisBackend needs an ioredis client (Redis or Cluster) or a node-redis client or cluster (createClient or createCluster of the "redis" package); the connection given is ${describe(
      client,
    )}, which as an ioredis client lacks ${ioredisLacks.join(", ")} and as a node-redis one lacks ${nodeRedisLacks.join(
      ", ",
    )}. Pass one of those clients, or a redis:// URL.`,
  );
}

/** What `client` lacks among `methods` and the property `property` of type `type`. */
function lacking(client: unknown, methods: string[], property: string, type: string): string[] {
  if (typeof client !== "object" || client === null) return [...methods.map((m) => `${m}()`)];
  const shape = client as Record<string, unknown>;
  const missing = methods.filter((m) => typeof shape[m] !== "function").map((m) => `${m}()`);
  if (typeof shape[property] !== type) missing.push(`${property} (a ${type})`);
  return missing;
}

/** What a value is, for a message: `null`, `a string`, `an instance of Foo`, `a plain object`. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "Object" && name !== ""
    ? `an instance of ${name}`
    : "a plain object";
}
