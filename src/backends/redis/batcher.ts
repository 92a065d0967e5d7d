import type { DecisionMode } from "../types.js";

/** One decision call's worth of work: a single request, or an all-or-nothing group. */
export interface Entry {
  readonly keys: readonly string[];
  /** Six values per request: code, cost, limit, window, two parameters. */
  readonly args: readonly string[];
  readonly codes: readonly string[];
}

/** Sends entries as one script call; the reply holds five values per request, in order. */
export type Send = (
  mode: DecisionMode,
  keys: string[],
  codes: string[],
  args: string[],
) => Promise<string[]>;

interface Waiting {
  readonly entry: Entry;
  resolve(reply: string[]): void;
  reject(error: unknown): void;
}

/**
 * Coalesces the decisions issued in one turn of the event loop into one script call (up to
 * `maxRequests` requests each): under concurrency Redis runs one script for many decisions,
 * and each entry stays its own group, decided exactly as if alone.
 */
export class DecisionBatcher {
  private readonly queues: Record<DecisionMode, Waiting[]> = { consume: [], peek: [] };
  private scheduled = false;

  constructor(
    private readonly send: Send,
    private readonly maxRequests = 16,
  ) {}

  /** The entry's slice of the reply: five values per request. */
  submit(mode: DecisionMode, entry: Entry): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.queues[mode].push({ entry, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the current microtasks: every decision started in this turn joins the batch.
        process.nextTick(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    for (const mode of ["consume", "peek"] as const) {
      const queue = this.queues[mode];
      this.queues[mode] = [];
      let batch: Waiting[] = [];
      let size = 0;
      for (const waiting of queue) {
        if (size > 0 && size + waiting.entry.keys.length > this.maxRequests) {
          this.dispatch(mode, batch);
          batch = [];
          size = 0;
        }
        batch.push(waiting);
        size += waiting.entry.keys.length;
      }
      if (batch.length > 0) this.dispatch(mode, batch);
    }
  }

  private dispatch(mode: DecisionMode, batch: readonly Waiting[]): void {
    const keys: string[] = [];
    const codes: string[] = [];
    const args: string[] = [];
    batch.forEach(({ entry }, group) => {
      keys.push(...entry.keys);
      codes.push(...entry.codes);
      for (let i = 0; i < entry.keys.length; i++)
        args.push(String(group), ...entry.args.slice(i * 6, i * 6 + 6));
    });
    this.send(mode, keys, codes, args).then(
      (reply) => {
        let at = 0;
        for (const waiting of batch) {
          const length = waiting.entry.keys.length * 5;
          waiting.resolve(reply.slice(at, at + length));
          at += length;
        }
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      },
    );
  }
}
