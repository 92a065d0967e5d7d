import { BackendError } from "../errors.js";

interface Waiting {
  readonly deadline: number;
  readonly reject: (error: BackendError) => void;
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

  /** `promise`, or a `BackendError` (code ERR_TRAFFIK_BACKEND_TIMEOUT) once `ms` have passed. */
  guard<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = { deadline: performance.now() + this.ms, reject, settled: false };
      this.queue.push(waiting);
      this.timer ??= setTimeout(this.expire, this.ms);
      promise.then(
        (value) => {
          waiting.settled = true;
          resolve(value);
        },
        (error: unknown) => {
          waiting.settled = true;
          reject(error);
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
