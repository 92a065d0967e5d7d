import type { ClientLink, NodeRedisClient, NodeSender, ScriptCommand } from "./client-link.js";
import { readyEvent } from "./ready-wait.js";
import { keySlot } from "./slots.js";

/** A node-redis client or cluster as this file uses it; the majors differ only where noted. */
interface NodeRedisShape extends Omit<NodeRedisClient, "sendCommand"> {
  /** A client's is `(args)`; a cluster's `(firstKey, isReadonly, args)`. */
  sendCommand(...args: unknown[]): Promise<unknown>;
  /** 5.x and later; 4.x has `quit` only. */
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  /** 5.x and later; 4.x has `disconnect` only. */
  destroy?(): void;
  disconnect?(): Promise<unknown>;
  readonly options?: { url?: string; socket?: { host?: string; port?: number; path?: string } };
}

interface ClusterShape extends NodeRedisShape {
  readonly masters: readonly { host: string; port: number }[];
  readonly slots: readonly ({ master?: { host: string; port: number } } | undefined)[];
  nodeClient(node: unknown): NodeRedisShape | Promise<NodeRedisShape>;
  readonly _options?: { rootNodes?: readonly { url?: string }[] };
}

/** Whether a node-redis connection is a cluster (`createCluster`): it knows its masters. */
export const isNodeRedisCluster = (client: object): boolean =>
  typeof (client as { nodeClient?: unknown }).nodeClient === "function" && "masters" in client;

/**
 * The {@link ClientLink} of a node-redis client or cluster (`redis` 4.x and later): every
 * command by `sendCommand`, which a cluster routes by the key it is given. A cluster has no
 * ready event of its own: 5.x and later tell each node's (`node-ready`), 4.x none.
 */
export class NodeRedisLink implements ClientLink {
  readonly library = "node-redis";
  readonly isCluster: boolean;
  private readonly shape: NodeRedisShape;
  /** Whether a read to learn the slots' owners is on its way (see `onCluster`). */
  private probing = false;

  constructor(readonly client: NodeRedisClient) {
    this.shape = client as NodeRedisShape;
    this.isCluster = isNodeRedisCluster(client);
  }

  get address(): string {
    if (this.isCluster) {
      const cluster = this.shape as ClusterShape;
      const roots = cluster._options?.rootNodes?.map((node) => hostPort(node.url));
      const known = cluster.masters.map((node) => `${node.host}:${node.port}`);
      return (roots?.length ? roots : known).join(",") || "the node-redis cluster given";
    }
    const options = this.shape.options;
    if (options?.socket?.path !== undefined) return options.socket.path;
    if (options?.url !== undefined) return hostPort(options.url);
    return `${options?.socket?.host ?? "localhost"}:${options?.socket?.port ?? 6379}`;
  }

  send(args: readonly string[], key: string): Promise<unknown> {
    // Never marked read-only: a cluster would be free to ask a replica, which may lag.
    return this.isCluster ? this.onCluster(key, args) : this.shape.sendCommand(args);
  }

  script(
    command: ScriptCommand,
    code: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    const all = [command, code, String(keys.length), ...keys, ...args];
    return this.isCluster ? this.onCluster(keys[0], all) : this.shape.sendCommand(all);
  }

  /**
   * A command to the master of `key`'s slot. When that master is lost, node-redis before 6
   * goes on sending to it: it learns a new map of the slots only from a MOVED reply. So a
   * loss sends, at most one at a time, a read of `key` to any node, whose MOVED makes the
   * client learn who serves the slot now (a failover), and the next calls go there.
   */
  private onCluster(key: string | undefined, args: readonly string[]): Promise<unknown> {
    return this.shape.sendCommand(key, false, args).catch((error: unknown) => {
      if (key !== undefined && isLoss(error) && !this.probing) {
        this.probing = true;
        this.shape
          .sendCommand(undefined, true, ["EXISTS", key])
          .catch(() => undefined)
          .finally(() => {
            this.probing = false;
          });
      }
      throw error;
    });
  }

  async masters(): Promise<readonly NodeSender[]> {
    if (!this.isCluster) return [(args) => this.shape.sendCommand(args)];
    const cluster = this.shape as ClusterShape;
    const clients = await Promise.all(cluster.masters.map((node) => cluster.nodeClient(node)));
    return clients.map((node) => (args) => node.sendCommand(args));
  }

  /**
   * Connects a client not open; waits for one open but not ready (reconnecting) until it is, or
   * until it ends. An open cluster is ready: its `connect()` resolves after discovery.
   */
  untilReady(timeoutMs: number): Promise<void> {
    const client = this.shape;
    if (!client.isOpen) return client.connect().then(() => undefined);
    if (this.isCluster || client.isReady) return Promise.resolve();
    return readyEvent(client, timeoutMs, () => "reconnecting");
  }

  onReady(listener: () => void): () => void {
    const event = this.isCluster ? "node-ready" : "ready";
    this.shape.on(event, listener);
    return () => this.shape.off(event, listener);
  }

  onError(listener: (error: unknown) => void): () => void {
    this.shape.on("error", listener);
    return () => this.shape.off("error", listener);
  }

  quit(): Promise<unknown> {
    const client = this.shape;
    return typeof client.close === "function"
      ? client.close()
      : (client.quit?.() as Promise<unknown>);
  }

  destroy(): void {
    const client = this.shape;
    if (typeof client.destroy === "function") client.destroy();
    else client.disconnect?.().catch(() => undefined);
  }

  masterOf(key: string): string {
    if (!this.isCluster) return "";
    const master = (this.shape as ClusterShape).slots[keySlot(key)]?.master;
    return master === undefined ? "" : `${master.host}:${master.port}`;
  }
}

/**
 * Whether a cluster call failed for want of its node (offline, closed, refused, reset) or of
 * the cluster (CLUSTERDOWN), rather than by the server's answer (`ERR ...`, `NOSCRIPT ...`).
 */
const isLoss = (error: unknown): boolean => {
  const message = error instanceof Error ? error.message : String(error);
  return message.startsWith("CLUSTERDOWN") || !/^[A-Z][A-Z_]+\b/.test(message);
};

const hostPort = (url: string | undefined): string => {
  try {
    const parsed = new URL(url ?? "");
    return `${parsed.hostname || "localhost"}:${parsed.port || "6379"}`;
  } catch {
    return url ?? "localhost:6379";
  }
};
