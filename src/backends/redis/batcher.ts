import type { Step } from "../../strategies/strategy.js";
import type { DecisionMode } from "../types.js";

/** One decision call's worth of work: a single request, or an all-or-nothing group. */
export interface Entry {
  readonly keys: readonly string[];
  /** One argument per request: "code,cost,limit,window,option,option". */
  readonly args: readonly string[];
  readonly codes: readonly string[];
}

/** Sends entries as one script call; the answer holds one step per request, in order. */
export type Send = (
  mode: DecisionMode,
  keys: readonly string[],
  codes: readonly string[],
  args: readonly string[],
) => Promise<Step[]>;

interface Waiting {
  readonly entry: Entry;
  resolve(steps: readonly Step[]): void;
  reject(error: unknown): void;
}

/**
 * Coalesces decisions into script calls of up to `maxRequests` requests: a decision made while
 * none is in flight goes at once; those made while others are in flight are gathered until the
 * end of the current turn and sent together. Under concurrency Redis then runs one script for
 * many decisions, and each entry stays its own group, decided exactly as if alone.
 */
export class DecisionBatcher {
  private readonly queues: Record<DecisionMode, Waiting[]> = { consume: [], peek: [] };
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly send: Send,
    private readonly maxRequests = 16,
  ) {}

  /** Whether nothing is in flight or gathering: a decision now may go alone, at once. */
  idle(): boolean {
    return this.inFlight === 0 && !this.scheduled;
  }

  /** Counts a call sent at once as in flight, so later decisions gather meanwhile. */
  sent(): void {
    this.inFlight++;
  }

  /** A call sent at once was answered (or failed, or timed out). */
  answered(): void {
    this.inFlight--;
  }

  /** The entry's slice of the answer: one step per request. */
  submit(mode: DecisionMode, entry: Entry): Promise<readonly Step[]> {
    if (this.idle()) {
      const args = entry.args.map((arg) => `0,${arg}`);
      this.sent();
      const call = this.send(mode, entry.keys, entry.codes, args);
      const answered = () => this.answered();
      call.then(answered, answered);
      return call;
    }
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
      for (const arg of entry.args) args.push(`${group},${arg}`);
    });
    this.inFlight++;
    this.send(mode, keys, codes, args).then(
      (reply) => {
        this.inFlight--;
        let at = 0;
        for (const waiting of batch) {
          const length = waiting.entry.keys.length;
          waiting.resolve(reply.slice(at, at + length));
          at += length;
        }
      },
      (error: unknown) => {
        this.inFlight--;
        for (const waiting of batch) waiting.reject(error);
      },
    );
  }
}
