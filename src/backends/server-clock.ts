/** Slack added to the round trip in the margin: timers and parsing on either side. */
const SLACK_MS = 2;
/** How often the offset is measured again, in the background: clocks drift. */
const RESYNC_MS = 30_000;

/**
 * This process's idea of a server's clock (Redis, PostgreSQL), so that a call can carry its
 * deadline in the server's time: the script declines to write once the server's clock is past it, and a call
 * the client stopped waiting for is never charged later. Measured from the server's `TIME`
 * around one round trip; the deadline is moved earlier by that round trip (plus a little
 * slack), the most the estimate can be off, so the server never runs a call the client has
 * already given up on.
 */
export class ServerClock {
  /** Server ms minus this process's monotonic ms. */
  private offset = 0;
  private margin = 0;
  private syncedAt = Number.NEGATIVE_INFINITY;
  private syncing: Promise<void> | undefined;

  /** `probe` answers the server's clock, in ms, as `TIME` gives it. */
  constructor(private readonly probe: () => Promise<number>) {}

  /** Measures the offset now. */
  async sync(): Promise<void> {
    const sent = performance.now();
    const server = await this.probe();
    const answered = performance.now();
    this.offset = server - (sent + answered) / 2;
    this.margin = answered - sent + SLACK_MS;
    this.syncedAt = answered;
  }

  /** Measures again soon, in the background (a call ran late before its deadline here). */
  resync(): void {
    this.syncing ??= this.sync()
      .catch(() => {})
      .finally(() => {
        this.syncing = undefined;
      });
  }

  /** The server's time, in whole ms, past which a call sent now with `timeoutMs` must not run. */
  deadline(timeoutMs: number): number {
    const now = performance.now();
    if (now - this.syncedAt > RESYNC_MS) {
      this.syncedAt = now;
      this.resync();
    }
    return Math.floor(now + timeoutMs + this.offset - this.margin);
  }
}
