import { setTimeout as sleep } from "node:timers/promises";

/**
 * Waits, if need be, until the wall clock is at least `marginMs` before the end of every
 * window in `windowsMs`. For tests of code that builds its own backend on the default clock
 * (the examples): fixed windows align to the epoch, so a test that makes a few requests must
 * not straddle a window's end. It waits `marginMs` at the most per window edge.
 */
export async function awayFromWindowEdges(windowsMs: readonly number[], marginMs = 3_000) {
  for (;;) {
    const now = Date.now();
    const untilEdge = Math.min(...windowsMs.map((w) => w - (now % w)));
    if (untilEdge >= marginMs) return;
    await sleep(untilEdge + 10);
  }
}
