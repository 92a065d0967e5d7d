import type { Step } from "../../strategies/strategy.js";
import type { DecisionMode } from "../types.js";

/** One decision call's worth of work: a single request, or an all-or-nothing group. */
export interface Entry {
  /** One key per request. */
  readonly keys: readonly string[];
}

/** Sends entries as one script call; the answer holds one step per request, in order. */
export type Send<E extends Entry> = (mode: DecisionMode, entries: readonly E[]) => Promise<Step[]>;

interface Waiting<E> {
  readonly entry: E;
  resolve(steps: readonly Step[]): void;
  reject(error: unknown): void;
}

/**
 * Coalesces decisions into script calls of up to `maxRequests` requests: a decision made while
 * none is in flight goes at once; those made while others are in flight are gathered until the
 * end of the current turn and sent together. Under concurrency Redis then runs one script for
 * many decisions; `send` keeps each entry its own group, decided exactly as if alone.
 *
 * Up to 32 requests a call, so that 64 decisions in flight make two calls: Redis runs one while
 * this process answers the other's decisions and sends the next, where one call of 64 left each
 * side idle while the other worked. At 64 in flight (bench:redis, 20 000 decisions, 3 rounds,
 * alternating builds), fixed window and GCRA made 68–96 k decisions/s with calls of 32, 37–42 k
 * with calls of 64 and 60–68 k with calls of 16 (2.13 commands a decision, against 2.07), at
 * the same CPU per decision. A call of 32 holds the server for about 0.15 ms.
 */
export class DecisionBatcher<E extends Entry> {
  private readonly queues: Record<DecisionMode, Waiting<E>[]> = { consume: [], peek: [] };
  private scheduled = false;
  private inFlight = 0;

  constructor(
    private readonly send: Send<E>,
    private readonly maxRequests = 32,
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
  submit(mode: DecisionMode, entry: E): Promise<readonly Step[]> {
    if (this.idle()) {
      this.sent();
      const call = this.send(mode, [entry]);
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
      let batch: Waiting<E>[] = [];
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

  private dispatch(mode: DecisionMode, batch: readonly Waiting<E>[]): void {
    this.inFlight++;
    this.send(
      mode,
      batch.map(({ entry }) => entry),
    ).then(
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
