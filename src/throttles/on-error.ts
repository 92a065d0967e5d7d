import { BackendError, TraffikError } from "../errors.js";
import { publishBackendError, type ThrottleEvents } from "../events/publish.js";
import { report } from "../events/report.js";
import type { Decision } from "./decision.js";
import type { AnyThrottle, ErrorAction, ErrorHandler } from "./options.js";

/** The wait told to a client throttled because the backend failed, unless `minWaitPeriod` is longer. */
const FAILED_BACKEND_WAIT_MS = 1000;
/** How long a backend must answer with no failure before an outage counts as over. */
const OUTAGE_QUIET_MS = 5000;

/**
 * A throttle's `onError` policy, and what it remembers of the outage it is in, so that
 * admitting requests while the backend fails warns once per outage. @internal
 */
export class ErrorPolicy<C> {
  private inOutage = false;
  /** When `onError` last admitted for this throttle (wall ms), while in an outage. */
  private lastFailureAt = 0;

  constructor(
    private readonly onError: ErrorAction | ErrorHandler<C>,
    private readonly exempt: Decision,
    private readonly minWaitPeriod: number,
    private readonly events: ThrottleEvents,
  ) {}

  /** The backend answered: an outage ends once it has answered for a while with no failure. */
  answered(): void {
    // A partial outage (a Cluster master down, the others up) is one outage, warned about once.
    if (this.inOutage && Date.now() - this.lastFailureAt > OUTAGE_QUIET_MS) this.inOutage = false;
  }

  /**
   * The decision `onError` makes for a backend failure.
   * @throws the error itself when it is a configuration error, not an outage; the
   * `BackendError` when `onError` says `"raise"`.
   */
  async decide(error: unknown, connection: C, throttle: AnyThrottle): Promise<Decision> {
    if (error instanceof TraffikError && !(error instanceof BackendError)) throw error;
    const failure =
      error instanceof BackendError
        ? error
        : new BackendError(`Backend failed: ${String(error)}`, { cause: error });
    const action =
      typeof this.onError === "function"
        ? await this.onError(failure, { connection, throttle })
        : this.onError;
    publishBackendError(this.events, action, failure, connection);
    if (action === "raise") throw failure;
    const allowed = action !== "throttle";
    if (allowed) {
      this.lastFailureAt = Date.now();
      if (!this.inOutage) {
        this.inOutage = true;
        report(
          this.events.logger,
          "warn",
          { uid: throttle.uid, state: "admitting-during-outage", error: failure },
          `Throttle "${throttle.uid}" admits requests while its backend fails: ${failure.message}`,
          "TRAFFIK_BACKEND_OUTAGE",
        );
      }
    }
    return {
      ...this.exempt,
      allowed,
      remaining: allowed ? this.exempt.limit : 0,
      retryAfterMs: allowed ? 0 : Math.max(this.minWaitPeriod, FAILED_BACKEND_WAIT_MS),
      source: "error",
    };
  }
}
