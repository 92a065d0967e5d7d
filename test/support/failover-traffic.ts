import type { ThrottleBackend } from "../../src/backends/base.js";
import { stateKey } from "../../src/backends/redis/keys.js";
import { HTTPThrottle } from "../../src/throttles/http.js";

/** One decision made under traffic. */
export interface Recorded {
  readonly client: string;
  /** When it was asked for (this process's monotonic clock, ms). */
  readonly startedAt: number;
  readonly answeredAt: number;
  readonly allowed: boolean;
  readonly source: string;
}

/** The hot client's limit: it asks far more often than this. */
export const HOT_LIMIT = 30;

/** The hot client's key on Redis, in a backend of `namespace`. */
export const hotKey = (namespace: string) => `${namespace}:${stateKey("hot", "hot-client")}`;

/**
 * Traffic on one process, as the issue ran it: ~100 decisions/s spread over `clients`
 * background clients (far under their limit), and, once {@link Traffic.heat} is called, one
 * hot client at 100/s against a limit of {@link HOT_LIMIT} per 30 days (no window ends during
 * a run). Decisions are asked for every 10 ms without waiting for earlier ones, as independent
 * requests would be.
 */
export class Traffic {
  readonly decisions: Recorded[] = [];
  readonly hot: HTTPThrottle<string>;
  readonly background: HTTPThrottle<string>;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private hotFrom = Number.POSITIVE_INFINITY;
  private tick = 0;

  constructor(
    backend: ThrottleBackend,
    readonly hotClient = "hot-client",
    readonly clients = 50,
  ) {
    const identifier = (id: string) => id;
    this.hot = new HTTPThrottle({ uid: "hot", rate: `${HOT_LIMIT}/30d`, backend, identifier });
    this.background = new HTTPThrottle({ uid: "bg", rate: "100000/30d", backend, identifier });
  }

  start(): void {
    this.timer = setInterval(() => {
      const client = `client-${this.tick++ % this.clients}`;
      this.ask(this.background, client);
      if (performance.now() >= this.hotFrom) this.ask(this.hot, this.hotClient);
    }, 10);
  }

  /** Starts the hot client. */
  heat(): void {
    this.hotFrom = performance.now();
  }

  /** Stops asking and waits for every decision asked for. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Decisions of `client` (all of them by default) asked for at or after `from`. */
  of(client?: string, from = Number.NEGATIVE_INFINITY): Recorded[] {
    return this.decisions.filter(
      (d) => (client === undefined || d.client === client) && d.startedAt >= from,
    );
  }

  private ask(throttle: HTTPThrottle<string>, client: string): void {
    const startedAt = performance.now();
    const asked = throttle.tryHit(client).then(
      ({ allowed, source }) => {
        this.decisions.push({ client, startedAt, answeredAt: performance.now(), allowed, source });
      },
      (error: unknown) => {
        const answeredAt = performance.now();
        this.decisions.push({ client, startedAt, answeredAt, allowed: false, source: `${error}` });
      },
    );
    this.inFlight.add(asked);
    void asked.finally(() => this.inFlight.delete(asked));
  }
}

/** Warnings of Traffik's outages, as emitted. */
export function outageWarnings(): { warnings: Error[]; stop(): void } {
  const warnings: Error[] = [];
  const listen = (warning: Error & { code?: string }) => {
    if (warning.code?.startsWith("TRAFFIK_BACKEND")) warnings.push(warning);
  };
  process.on("warning", listen);
  return { warnings, stop: () => process.off("warning", listen) };
}
