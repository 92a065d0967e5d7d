import { BackendError } from "../errors.js";

interface Waiting {
  readonly deadline: number;
  readonly reject: (error: unknown) => void;
  settled: boolean;
}

/**
 * Times out calls that share one timeout, with one timer for all of them: deadlines arrive in
 * the order the calls do, so the timer only ever waits for the oldest call still pending. This
 * spares each call a timer of its own.
 */
export class Deadlines {
  private queue: Waiting[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ms: number,
    private readonly what: string,
  ) {}

  /**
   * `promise`, or a `BackendError` (code ERR_TRAFFIK_BACKEND_TIMEOUT) once `ms` have passed.
   * With `map` and `recover`, the outcome is shaped in the same turn it arrives, as
   * `guard(p).then(map, recover)` would, one promise fewer.
   */
  guard<T, R = T>(
    promise: Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const fail = (error: unknown) => {
        if (recover === undefined) reject(error);
        else {
          try {
            resolve(recover(error));
          } catch (thrown) {
            reject(thrown);
          }
        }
      };
      const waiting: Waiting = {
        deadline: performance.now() + this.ms,
        reject: fail,
        settled: false,
      };
      this.queue.push(waiting);
      this.timer ??= setTimeout(this.expire, this.ms);
      promise.then(
        (value) => {
          if (waiting.settled) return;
          waiting.settled = true;
          if (map === undefined) resolve(value as unknown as R);
          else {
            try {
              resolve(map(value));
            } catch (error) {
              reject(error);
            }
          }
        },
        (error: unknown) => {
          if (waiting.settled) return;
          waiting.settled = true;
          fail(error);
        },
      );
    });
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head < this.queue.length) {
      const waiting = this.queue[this.head] as Waiting;
      if (!waiting.settled && waiting.deadline > now) break;
      this.head++;
      if (!waiting.settled) {
        waiting.settled = true;
        waiting.reject(
          new BackendError(`${this.what} did not answer within ${this.ms} ms.`, {
            code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
          }),
        );
      }
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
      return;
    }
    if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const oldest = this.queue[this.head] as Waiting;
    this.timer = setTimeout(this.expire, Math.max(1, oldest.deadline - now));
  };
}
