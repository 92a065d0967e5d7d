/**
 * Attack: flood the in-memory backend with new identities (issue 14, items 2 and 6).
 *
 * A login throttle of 5/15m keyed by a value the attacker chooses (the username). The victim
 * is locked out; the attacker sends one attempt for each of 2 × maxKeys new usernames, so the
 * table fills and then evicts on every request. The attack holds when the victim is still
 * locked out, and new identities cost the same when the table is full as when it is empty
 * (within 2x). Then the case eviction cannot save, a table full of throttled clients, is
 * measured and printed (not a failure: it is the documented limit).
 *
 *   ATTACK_ONLY=inmemory-eviction npm run attack     (ATTACK_MAX_KEYS=1000000 by default)
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { HTTPThrottle } from "../../src/index.js";
import { decide } from "../../src/throttles/decide.js";
import type { Eventually } from "../../src/throttles/sync-or-async.js";
import type { Verdict } from "../../src/throttles/verdict.js";
import { median } from "../support.js";

const MAX_KEYS = Number(process.env.ATTACK_MAX_KEYS ?? 1_000_000);
/** Each flood stops here, finished or not: a defect must not make the attack run for minutes. */
const PHASE_MS = 15_000;
const CHUNK = 10_000;
/** Fill-then-evict rounds; the medians are compared, so one noisy round cannot decide. */
const ROUNDS = 3;
const LIMIT = 5;

interface Login {
  headers: Record<string, string>;
}
const as = (user: string): Login => ({ headers: { "x-user": user } });

/** The throttle on a backend made ready first, so that every decision is synchronous. */
async function loginThrottle(backend: InMemoryBackend): Promise<HTTPThrottle<Login>> {
  await backend.ready();
  return new HTTPThrottle<Login>({
    uid: "login",
    rate: `${LIMIT}/15m`,
    backend,
    identifier: (login) => login.headers["x-user"] ?? "",
    handleThrottled: () => undefined,
  });
}

const CONSUME = { mode: "consume" } as const;

/** Whether `throttle` admits `login` now: the internal decision, which answers at once here. */
function allowed<C>(throttle: HTTPThrottle<C>, login: C): boolean {
  const verdict: Eventually<Verdict<C>> = decide(throttle.alone, login, CONSUME);
  if (verdict instanceof Promise) throw new Error("the in-memory backend decides synchronously");
  return verdict.rejection === undefined;
}

/**
 * Sends `attempts` attempts for each user `prefix + i`, i in [from, to), in chunks with a turn of
 * the event loop between them; stops early at the phase's deadline. Returns identities per
 * second of this process's CPU time (other processes on the machine do not count), and how
 * many identities it sent.
 */
async function flood(
  throttle: HTTPThrottle<Login>,
  prefix: string,
  from: number,
  to: number,
  attempts = 1,
  between: () => void = () => {},
): Promise<{ perSecond: number; sent: number }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  let i = from;
  while (i < to && performance.now() - start < PHASE_MS) {
    const end = Math.min(to, i + CHUNK);
    for (; i < end; i++) {
      const login = as(`${prefix}${i}`);
      for (let a = 0; a < attempts; a++) allowed(throttle, login);
    }
    between();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const used = process.cpuUsage(cpu);
  return { perSecond: (i - from) / ((used.user + used.system) / 1e6), sent: i - from };
}

/** Attempts the victim makes now: how many of them are admitted. */
function victimAdmitted(throttle: HTTPThrottle<Login>, attempts: number): number {
  let admitted = 0;
  for (let a = 0; a < attempts; a++) if (allowed(throttle, as("victim"))) admitted++;
  return admitted;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const k = (rate: number) => `${(rate / 1000).toFixed(1)} k/s`;
let broken = false;

// 1. The victim is locked out, then 2 x maxKeys new identities arrive: the first maxKeys fill
// the table, each of the next evicts one state.
console.log(`maxKeys ${MAX_KEYS}, login throttle ${LIMIT}/15m keyed by username`);
const filling: number[] = [];
const evicting: number[] = [];
const delay = monitorEventLoopDelay({ resolution: 10 });
for (let round = 0; round < ROUNDS; round++) {
  const backend = new InMemoryBackend({ namespace: `attack-${round}`, maxKeys: MAX_KEYS });
  const throttle = await loginThrottle(backend);
  const lockedOut = victimAdmitted(throttle, LIMIT + 1);
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  delay.enable();
  const empty = await flood(throttle, "flood-", 0, MAX_KEYS);
  const full = await flood(throttle, "flood-", MAX_KEYS, 2 * MAX_KEYS);
  delay.disable();
  globalThis.gc?.();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  const admitted = victimAdmitted(throttle, LIMIT);
  filling.push(empty.perSecond);
  evicting.push(full.perSecond);
  console.log(
    `round ${round + 1}: victim ${lockedOut}/${LIMIT + 1} admitted before, ${admitted}/${LIMIT} after the flood; new identities ${k(empty.perSecond)} filling (${empty.sent}), ${k(full.perSecond)} evicting (${full.sent}); heap growth ${mb(heapGrowth)}, ${backend.size} states, ${mb(backend.bytes)} estimated`,
  );
  if (admitted > 0) broken = true;
  await backend.close();
  // A flood the deadline cut short already answered: eviction cost grows with the table.
  if (full.sent < MAX_KEYS) {
    broken = true;
    break;
  }
}
const ratio = median(filling) / median(evicting);
console.log(
  `new identities per CPU second, medians: ${k(median(filling))} filling, ${k(median(evicting))} evicting: ${ratio.toFixed(2)}x (bound 2x)`,
);
console.log(
  `event-loop delay per chunk of ${CHUNK} identities: max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`,
);
if (ratio > 2) broken = true;

// 2. What eviction cannot save: a table full of throttled clients. The attacker exhausts each
// of its identities (LIMIT + 1 attempts), so every state held is throttled.
{
  // Ten chunks: the retrying victim comes back before a tenth of the table has turned over.
  const maxKeys = Math.max(10 * CHUNK, Math.floor(MAX_KEYS / 10));
  const backend = new InMemoryBackend({ namespace: "attack-throttled", maxKeys });
  const throttle = await loginThrottle(backend);
  victimAdmitted(throttle, LIMIT + 1);
  const retrying = () => victimAdmitted(throttle, 1);
  let retryingAdmitted = 0;
  await flood(throttle, "a-", 0, 2 * maxKeys, LIMIT + 1, () => {
    retryingAdmitted += retrying();
  });
  console.log(
    `\ntable full of throttled clients (maxKeys ${maxKeys}, ${2 * maxKeys} attacker identities x ${LIMIT + 1} attempts):`,
  );
  console.log(
    `  a victim retrying once every ${CHUNK} attacker identities (${CHUNK * (LIMIT + 1)} requests): ${retryingAdmitted} admitted`,
  );
  if (retryingAdmitted > 0) broken = true;

  const idle = new InMemoryBackend({ namespace: "attack-idle", maxKeys });
  const idleThrottle = await loginThrottle(idle);
  victimAdmitted(idleThrottle, LIMIT + 1);
  let sent = 0;
  while (sent < 2 * maxKeys && !(await idleThrottle.peek(as("victim"))).allowed) {
    sent += (await flood(idleThrottle, "a-", sent, sent + CHUNK, LIMIT + 1)).sent;
  }
  const freed = (await idleThrottle.peek(as("victim"))).allowed;
  console.log(
    freed
      ? `  an idle victim was evicted after about ${sent} throttled attacker identities (${sent * (LIMIT + 1)} requests): the documented limit`
      : `  an idle victim was kept through ${sent} throttled attacker identities`,
  );
  await backend.close();
  await idle.close();
}

process.exitCode = broken ? 1 : 0;
