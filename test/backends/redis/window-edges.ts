/**
 * Checks fixed windows on Redis's own clock (no test clock), where nothing in the test process
 * can tell when a decision was made: after each decision the test asks the server, in one
 * transaction, for the client's state, its key's expiry and its time, and judges the decision
 * by those alone. A stall of the test process only spaces the decisions out; it never changes
 * a verdict.
 */
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import { decodeState } from "../../../src/backends/state-codec.js";
import type { Rate } from "../../../src/rate.js";
import type { Step } from "../../../src/strategies/strategy.js";

/** The server's answer after a decision: the state's window end (if it is live) and its time. */
interface ReadBack {
  /** The end of the state's window in ms, or undefined with no live state. */
  readonly end: number | undefined;
  /** The server's clock in ms (to the microsecond), read after the decision. */
  readonly now: number;
}

async function readBack(admin: Redis, key: string): Promise<ReadBack> {
  const replies = await admin.multi().get(key).pexpiretime(key).time().exec();
  const [[, stored], [, expireAt], [, time]] = replies as [
    [null, string | null],
    [null, number],
    [null, [string, string]],
  ];
  assert.notEqual(expireAt, -1, "a fixed-window state without an expiry");
  const now = Number(time[0]) * 1000 + Number(time[1]) / 1000;
  const state = decodeState(stored);
  if (state === undefined) return { end: undefined, now };
  assert.equal(state.length, 2, `a fixed window's state: ${stored}`);
  const end = state[0] as number;
  // The key outlives its state: its expiry only cleans up, it never ends a window early.
  assert.ok(expireAt >= end, `key expires at ${expireAt}, before its window ends at ${end}`);
  return { end: end > now ? end : undefined, now };
}

/** Units in the window before the decision, as its step tells them. */
const priorOf = (step: Step, rate: Rate): number =>
  step.allowed ? rate.limit - step.remaining - 1 : rate.limit - step.remaining;

/**
 * Makes decisions of cost 1 (every fourth a peek) for one client through `decide`, until it
 * has seen `windows` windows and a rejection, and checks each against what the server reports:
 *
 * - a live state's window ends at a multiple of the window's length, at most a window ahead;
 * - `resetAfterMs` reaches that end from some moment between the previous read and this one;
 * - the count starts from 0 in each window and grows by each admitted consume, no more.
 *
 * A state the server no longer holds live ended its window before the read: the decision then
 * fell either in the window last read back or in a fresh one, and its count may be either's.
 */
export async function checkWindowEdges(options: {
  readonly admin: Redis;
  readonly key: string;
  readonly rate: Rate;
  readonly decide: (mode: "consume" | "peek") => Promise<Step>;
  readonly windows: number;
}): Promise<void> {
  const { admin, key, rate, decide } = options;
  let live: { end: number; count: number } | undefined;
  const ends = new Set<number>();
  let rejections = 0;
  for (let i = 0; ends.size < options.windows || rejections === 0; i++) {
    // Time passes on the server whatever the test does: this bound is never near.
    assert.ok(i < 100_000, `${ends.size} windows and ${rejections} rejections in ${i} decisions`);
    const mode = i % 4 === 3 ? "peek" : "consume";
    const step = await decide(mode);
    const { end, now } = await readBack(admin, key);
    const prior = priorOf(step, rate);
    const where = `${mode} #${i}: ${JSON.stringify(step)}, read back at ${now}, window end ${end}`;
    assert.ok(step.resetAfterMs > 0 && step.resetAfterMs <= rate.windowMs, where);
    if (end === undefined) {
      assert.ok(prior === 0 || prior === live?.count, `count of a window now over; ${where}`);
      live = undefined;
    } else {
      assert.equal(end % rate.windowMs, 0, `windows end at multiples of the window; ${where}`);
      assert.ok(end - now <= rate.windowMs, where);
      assert.ok(step.resetAfterMs >= end - now, `reset reaches the window's end; ${where}`);
      const sameWindow = live?.end === end;
      const expected = sameWindow ? (live?.count ?? 0) : 0;
      assert.equal(prior, expected, `the count in this window; ${where}`);
      ends.add(end);
      live = { end, count: expected + (mode === "consume" && step.allowed ? 1 : 0) };
    }
    const allowed = prior + 1 <= rate.limit;
    if (!allowed) rejections++;
    assert.deepEqual(
      [step.allowed, step.remaining],
      [allowed, allowed ? rate.limit - prior - 1 : rate.limit - prior],
      where,
    );
  }
}
