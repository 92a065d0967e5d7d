import type { Database } from "./driver.js";

/** How long a decision waits for the lock while the file has stayed locked past the deadline. */
const OUTAGE_WAIT_MS = 5;

/**
 * How long a statement waits for another connection's lock (SQLite's `busy_timeout`, spent on
 * this thread: the driver is synchronous). Normally the backend's `timeoutMs`. Once a wait has
 * run out, the file is held by something slower than any decision (a backup, a long write), and
 * every later decision waiting `timeoutMs` in turn would hold the event loop that long each:
 * so until a statement gets the lock again, they wait {@link OUTAGE_WAIT_MS} ms at most, time
 * for SQLite's first tries but not more, and `onError` answers them.
 */
export class LockWait {
  private short = false;

  constructor(
    private readonly db: Database,
    private readonly fullMs: number,
  ) {}

  /** A statement ran out of time waiting for the lock. */
  ranOut(): void {
    if (this.short) return;
    this.short = true;
    this.set(Math.min(OUTAGE_WAIT_MS, this.fullMs));
  }

  /** A statement got the lock (or needed none). */
  got(): void {
    if (!this.short) return;
    this.short = false;
    this.set(this.fullMs);
  }

  /** The wait in force, as SQLite reports it. */
  get currentMs(): number {
    return Number(this.db.pragma("busy_timeout", { simple: true }));
  }

  private set(ms: number): void {
    this.db.pragma(`busy_timeout = ${ms}`, { simple: true });
  }
}
