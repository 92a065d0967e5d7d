import { BackendError } from "../errors.js";

/** A guarded call; its callbacks are dropped when it settles, so nothing of it stays reachable. */
interface Waiting {
  readonly deadline: number;
  resolve: ((value: unknown) => void) | undefined;
  reject: ((error: unknown) => void) | undefined;
  recover: ((error: unknown) => unknown) | undefined;
  next: Waiting | undefined;
}

/**
 * Times out calls that share one timeout, with one timer for all of them: deadlines arrive in
 * the order the calls do, so the calls wait in a list in that order and the timer only ever
 * waits for the oldest one still pending. This spares each call a timer of its own.
 *
 * The hot path is lean on purpose (this runs for every backend decision): settled calls leave
 * the front of the list at once, since a call kept until the timer fired would survive
 * young-generation collections, and the pending state is a plain record rather than closures,
 * which measured three times cheaper.
 */
export class Deadlines {
  private head: Waiting | undefined;
  private tail: Waiting | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly what: string,
  ) {}

  /**
   * `promise`, or a `BackendError` (code ERR_TRAFFIK_BACKEND_TIMEOUT) once `ms` have passed.
   * With `map` and `recover`, the outcome is shaped in the same turn it arrives, as
   * `guard(p).then(map, recover)` would, one promise fewer; `recover` also sees the timeout.
   */
  guard<T, R = T>(
    promise: Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting: Waiting = {
        deadline: performance.now() + this.ms,
        resolve: resolve as (value: unknown) => void,
        reject,
        recover,
        next: undefined,
      };
      if (this.tail === undefined) this.head = waiting;
      else this.tail.next = waiting;
      this.tail = waiting;
      this.timer ??= setTimeout(this.expire, this.ms);
      promise.then(
        (value) => {
          if (waiting.resolve === undefined) return;
          this.settle(waiting);
          try {
            resolve(map === undefined ? (value as unknown as R) : map(value));
          } catch (error) {
            reject(error);
          }
        },
        (error: unknown) => {
          if (waiting.resolve === undefined) return;
          this.settle(waiting);
          fail(resolve, reject, recover, error);
        },
      );
    });
  }

  /**
   * Stops the timer if no call waits: it stays armed after the last call settles (sparing the
   * hot path a `clearTimeout`), and would hold a closing process until it fires.
   */
  idle(): void {
    if (this.head !== undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Marks `waiting` settled and drops the settled calls at the front of the list. */
  private settle(waiting: Waiting): void {
    waiting.resolve = undefined;
    waiting.reject = undefined;
    waiting.recover = undefined;
    if (this.head !== waiting) return;
    let head: Waiting | undefined = waiting.next;
    while (head !== undefined && head.resolve === undefined) head = head.next;
    this.head = head;
    if (head === undefined) this.tail = undefined;
  }

  /**
   * The timer fired: expire what is due once the I/O already waiting has been read (Node polls
   * sockets between timers and `setImmediate`). A process too busy to read an answer the server
   * sent in time must not give up on it, and let `onError` answer a request the server charged.
   */
  private readonly expire = (): void => {
    setImmediate(this.expireDue);
  };

  private readonly expireDue = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head !== undefined && this.head.deadline <= now) {
      const { resolve, reject, recover } = this.head;
      this.settle(this.head);
      if (resolve !== undefined && reject !== undefined) {
        const error = new BackendError(`${this.what} did not answer within ${this.ms} ms.`, {
          code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
        });
        fail(resolve, reject, recover, error);
      }
    }
    if (this.head !== undefined) {
      this.timer = setTimeout(this.expire, Math.max(1, this.head.deadline - now));
    }
  };
}

/** Settles a guarded call that failed: through `recover` when there is one. */
function fail<R>(
  resolve: (value: R) => void,
  reject: (error: unknown) => void,
  recover: ((error: unknown) => R | Promise<R>) | undefined,
  error: unknown,
): void {
  if (recover === undefined) {
    reject(error);
    return;
  }
  try {
    resolve(recover(error) as R);
  } catch (thrown) {
    reject(thrown);
  }
}
