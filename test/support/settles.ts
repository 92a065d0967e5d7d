import assert from "node:assert/strict";

/**
 * Awaits `promise`, failing with `what` if it has not settled after `ms`. For a promise that
 * settles at once when the code is right and only after hours when it is wrong: `ms` sits far
 * from both, so no stall of a loaded machine decides the outcome. The timer goes with the test.
 */
export async function settlesWithin<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: what })), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
