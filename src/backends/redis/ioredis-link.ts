import type { Cluster, Redis } from "ioredis";
import type { ClientLink, NodeSender, ScriptCommand } from "./client-link.js";
import { readyEvent } from "./ready-wait.js";
import { keySlot } from "./slots.js";

/** The {@link ClientLink} of an ioredis `Redis` or `Cluster` (which routes by key itself). */
export class IoredisLink implements ClientLink {
  readonly library = "ioredis";
  readonly isCluster: boolean;
  readonly address: string;

  constructor(readonly client: Redis | Cluster) {
    this.isCluster = client.isCluster;
    this.address = ioredisAddress(client);
  }

  send(args: readonly string[], _key: string): Promise<unknown> {
    return this.client.call(args[0] as string, ...args.slice(1));
  }

  script(
    command: ScriptCommand,
    code: string,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    // ioredis's own methods: on a cluster they find the slot from the keys.
    const client = this.client;
    switch (command) {
      case "FCALL":
        return client.fcall(code, keys.length, ...keys, ...args);
      case "FCALL_RO":
        return client.fcall_ro(code, keys.length, ...keys, ...args);
      case "EVALSHA":
        return client.evalsha(code, keys.length, ...keys, ...args);
      case "EVAL":
        return client.eval(code, keys.length, ...keys, ...args);
    }
  }

  async masters(): Promise<readonly NodeSender[]> {
    const nodes: Redis[] = this.client.isCluster
      ? (this.client as Cluster).nodes("master")
      : [this.client as Redis];
    return nodes.map((node) => (args) => node.call(args[0] as string, ...args.slice(1)));
  }

  /**
   * A lazy client is connected, one still connecting (a fresh Cluster, or a Sentinel client
   * asking for its master) is waited for, since with its offline queue off it would refuse a
   * command at once.
   */
  untilReady(timeoutMs: number): Promise<void> {
    const client = this.client;
    if (client.status === "ready") return Promise.resolve();
    if (client.status === "wait" || client.status === "end") return client.connect();
    return readyEvent(client, timeoutMs, () => `status "${client.status}"`);
  }

  onReady(listener: () => void): () => void {
    this.client.on("ready", listener);
    return () => this.client.off("ready", listener);
  }

  onError(listener: (error: unknown) => void): () => void {
    this.client.on("error", listener);
    return () => this.client.off("error", listener);
  }

  quit(): Promise<unknown> {
    return this.client.quit();
  }

  destroy(): void {
    this.client.disconnect();
  }

  masterOf(key: string): string {
    if (!this.client.isCluster) return "";
    const owners = (this.client as { slots?: readonly (readonly string[] | undefined)[] }).slots;
    return owners?.[keySlot(key)]?.[0] ?? "";
  }
}

/** `host:port` of the server(s) an ioredis client points at. */
function ioredisAddress(client: Redis | Cluster): string {
  const shape = client as {
    options?: { host?: string; port?: number; name?: string; sentinels?: unknown };
    startupNodes?: readonly (string | number | { host?: string; port?: number })[];
  };
  const list = (nodes: readonly (string | number | { host?: string; port?: number })[]) =>
    nodes
      .map((node) =>
        typeof node === "object"
          ? `${node.host ?? "127.0.0.1"}:${node.port ?? 6379}`
          : String(node),
      )
      .join(",");
  if (Array.isArray(shape.startupNodes)) return list(shape.startupNodes);
  const options = shape.options;
  if (Array.isArray(options?.sentinels)) {
    return `master "${options.name ?? "mymaster"}" of sentinels ${list(options.sentinels)}`;
  }
  return `${options?.host ?? "127.0.0.1"}:${options?.port ?? 6379}`;
}
