import { BackendError } from "../errors.js";
import { Deadlines } from "../internal/deadlines.js";

/**
 * The two limits on a backend's calls: each has a deadline (`timeoutMs`), and at most
 * `maxPending` commands wait on the server at once. One per backend; the backend's
 * `withinTimeout`, `command` and `counted` delegate here. @internal
 */
export class CallLimits {
  private pending = 0;
  // Made on first use: a backend that never waits on anything keeps no timer list.
  private deadlines: Deadlines | undefined;

  /** `what` names the backend in errors, as `Backend "name"`. */
  constructor(
    private readonly timeoutMs: number,
    private readonly maxPending: number,
    private readonly what: string,
  ) {}

  /** How many commands wait on the server now. */
  get pendingCommands(): number {
    return this.pending;
  }

  /**
   * `call`, or a `BackendError` (ERR_TRAFFIK_BACKEND_TIMEOUT) once `timeoutMs` have passed;
   * `map` and `recover` shape the outcome as `.then(map, recover)` would, one promise fewer.
   */
  withinTimeout<T, R = T>(
    call: Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    this.deadlines ??= new Deadlines(this.timeoutMs, this.what);
    return this.deadlines.guard(call, map, recover);
  }

  /** Stops the deadlines' timer when no call waits (a closed backend keeps no timer). */
  idle(): void {
    this.deadlines?.idle();
  }

  /**
   * `send()`, counted as waiting on the server until it settles (its answer, the client's own
   * timeout, a dropped connection: what the process still holds, not merely until the
   * deadline); a `BackendError` (ERR_TRAFFIK_BACKEND_OVERLOADED) without sending while
   * `maxPending` already wait.
   */
  counted<T>(send: () => Promise<T>): Promise<T> {
    if (this.pending >= this.maxPending) {
      return Promise.reject(
        new BackendError(
          `${this.what} has ${this.maxPending} commands waiting on its server already.`,
          { code: "ERR_TRAFFIK_BACKEND_OVERLOADED" },
        ),
      );
    }
    let sent: Promise<T>;
    try {
      sent = send();
    } catch (error) {
      return Promise.reject(error);
    }
    this.pending++;
    sent.then(this.settled, this.settled);
    return sent;
  }

  private readonly settled = (): void => {
    this.pending--;
  };
}
