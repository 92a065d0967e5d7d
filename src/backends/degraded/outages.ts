import { publishBackendState } from "../../events/publish.js";
import { report } from "../../events/report.js";
import type { Logger } from "../../events/types.js";

/** How a request for a node is decided now. */
export type Route = "shared" | "probe" | "fallback";

interface Outage {
  /** When it began (this process's monotonic clock, ms). */
  readonly since: number;
  /** When a request may next try the node. */
  nextProbeAt: number;
  /** Whether a request is trying the node now. */
  probing: boolean;
  /** When a request was last routed to the node: a node nothing is routed to any more is gone. */
  lastSeen: number;
}

/**
 * The nodes of a shared backend that are out (a server, a cluster master; `""` for the whole
 * backend), each from its first failure until a request sent to it afterwards succeeds.
 * Meanwhile requests for it are decided in-process, and one at a time tries it again every
 * `probeIntervalMs`. An outage begins once and ends once, each published on
 * `traffik:backend-state` and logged (to `logger`, else as a process warning): answers from
 * healthy nodes do not end it, and failures of requests sent before it began cannot restart it.
 */
export class Outages {
  private readonly open = new Map<string, Outage>();
  /** A node nothing was routed to for this long no longer serves anything (a replica took over). */
  private readonly goneAfterMs: number;

  constructor(
    private readonly name: string,
    private readonly probeIntervalMs: number,
    timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly logger?: Logger,
  ) {
    this.goneAfterMs = 2 * (probeIntervalMs + timeoutMs);
  }

  /** Whether no node is out: then every request goes to the shared backend. */
  none(): boolean {
    return this.open.size === 0;
  }

  /** How many nodes are out now. */
  get count(): number {
    return this.open.size;
  }

  /** Whether `node` is out. */
  isOut(node: string): boolean {
    return this.open.has(node);
  }

  /** Where a request for `node` goes now; a probe must be followed by {@link answered} or {@link failed}. */
  route(node: string): Route {
    const outage = this.open.get(node);
    if (outage === undefined) return "shared";
    const now = this.now();
    outage.lastSeen = now;
    if (outage.probing || now < outage.nextProbeAt) return "fallback";
    outage.probing = true;
    return "probe";
  }

  /**
   * A request for `node`, sent at `sentAt` (see {@link sentAt}), failed as an outage does: the
   * outage begins, or its probe failed.
   */
  failed(node: string, error: unknown, sentAt: number): void {
    if (this.open.has(node)) {
      this.probeEnded(node, sentAt);
      return;
    }
    const now = this.now();
    this.open.set(node, {
      since: now,
      nextProbeAt: now + this.probeIntervalMs,
      probing: false,
      lastSeen: now,
    });
    publishBackendState({ backend: this.name, state: "outage-began", node, error });
    report(
      this.logger,
      "error",
      { backend: this.name, node, state: "outage-began", error },
      `Backend "${this.name}"${where(node)}: out (${error instanceof Error ? error.message : String(error)}): its requests are decided in this process, each client within its limit per process, until it answers again.`,
      "TRAFFIK_BACKEND_OUTAGE",
    );
  }

  /**
   * A request for `node`, sent at `sentAt`, ended without an answer (a failure, or a
   * misconfiguration, which neither begins nor ends an outage): if it was the node's probe, the
   * next one goes once its interval has passed.
   */
  probeEnded(node: string, sentAt: number): void {
    const outage = this.open.get(node);
    if (outage?.probing === true && sentAt > outage.since) {
      outage.probing = false;
      outage.nextProbeAt = this.now() + this.probeIntervalMs;
    }
  }

  /** A request for `node`, sent at `sentAt` (see {@link sentAt}), was answered by it. */
  answered(node: string, sentAt: number): void {
    const outage = this.open.get(node);
    if (outage !== undefined && sentAt > outage.since)
      this.end(node, outage, "requests are answered again");
    const now = this.now();
    for (const [other, stale] of this.open) {
      if (now - stale.lastSeen > this.goneAfterMs)
        this.end(other, stale, "no request goes to it any more");
    }
  }

  /** When a request is sent, for {@link answered}. */
  sentAt(): number {
    return this.now();
  }

  private end(node: string, outage: Outage, how: string): void {
    this.open.delete(node);
    const durationMs = Math.round(this.now() - outage.since);
    publishBackendState({ backend: this.name, state: "outage-ended", node, durationMs });
    report(
      this.logger,
      "warn",
      { backend: this.name, node, state: "outage-ended", durationMs },
      `Backend "${this.name}"${where(node)}: ${how} after ${durationMs} ms: its requests are decided by it again.`,
      "TRAFFIK_BACKEND_RECOVERED",
    );
  }
}

const where = (node: string): string => (node === "" ? "" : ` node ${node}`);
