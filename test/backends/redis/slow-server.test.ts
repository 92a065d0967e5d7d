import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { RedisBackend, RedisBackendOptions } from "../../../src/backends/redis/index.js";
import type { Decision } from "../../../src/index.js";
import { FixedWindowStrategy, SlidingWindowLogStrategy } from "../../../src/strategies/index.js";
import { HTTPThrottle } from "../../../src/throttles/http.js";
import { backendOn, clientKinds, givenClientBackendOn } from "../../support/redis-clients.js";
import { hasBinary, startRedis } from "../../support/servers.js";

const enabled = hasBinary("redis-server");
const TIMEOUT_MS = 300;
const MAX_PENDING = 20;
/** Each stall: the server holds every client's commands this long, then answers them all. */
const STALL_MS = 2000;
/** Far below a stall, far above the deadline: a decision that waited for the server fails it. */
const ANSWER_BOUND_MS = 1300;
const CLIENTS = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"];

interface Seen {
  readonly client: string;
  readonly decision: Decision;
  readonly ms: number;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

type Options = Omit<RedisBackendOptions, "connection">;

/**
 * Each way a backend talks to Redis: the client it makes from a URL (which drops a socket
 * silent while calls wait), an ioredis client of the app's own (which holds what it sent, so
 * the server runs it after the stall), and node-redis.
 */
const links: readonly {
  readonly name: string;
  open(url: string, options: Options): RedisBackend;
}[] = clientKinds
  .filter((kind) => kind.name === "ioredis" || kind.name === "node-redis 6")
  .flatMap((kind) => {
    const made = {
      name: kind.name === "ioredis" ? "ioredis from a URL" : kind.name,
      open: (url: string, options: Options) => backendOn(kind, url, options),
    };
    if (kind.name !== "ioredis") return [made];
    const given = {
      name: "an ioredis client of the app's own",
      open: (url: string, options: Options) => givenClientBackendOn(kind, url, options),
    };
    return [made, given];
  });

for (const link of links)
  describe(`RedisBackend on a server that stalls and answers late (CLIENT PAUSE), through ${link.name}`, {
    skip: !enabled,
  }, () => {
    for (const strategy of [new FixedWindowStrategy(), new SlidingWindowLogStrategy()]) {
      it(`${strategy.name}: answers at the deadline, holds at most maxPending, charges only what it admitted, and comes back`, {
        timeout: 60_000,
      }, async (t) => {
        const server = await startRedis();
        const backend = link.open(server.url, {
          namespace: "slow",
          // What onError does, so degraded mode (which would decide instead) is off.
          degradedMode: false,
          timeoutMs: TIMEOUT_MS,
          maxPending: MAX_PENDING,
          blockCache: false,
        });
        const pauser = new Redis(server.url);
        t.after(async () => {
          pauser.disconnect();
          await backend.close().catch(() => {});
          await server.stop();
        });
        const throttle = new HTTPThrottle({
          uid: "s",
          // Counts exactly over the test: no window ends and nothing refills within it.
          rate: "5000/d",
          backend,
          onError: "throttle",
          strategy,
        });
        await backend.ready();

        const seen: Seen[] = [];
        let peakPending = 0;
        const decideOnce = async (client: string) => {
          const started = performance.now();
          const decision = await throttle.tryHit({ ip: client });
          seen.push({ client, decision, ms: performance.now() - started });
        };
        let stalling = true;
        const stalls = (async () => {
          try {
            for (let stall = 0; stall < 2; stall++) {
              await pauser.call("CLIENT", "PAUSE", String(STALL_MS), "ALL");
              await sleep(STALL_MS + 200);
            }
          } finally {
            stalling = false; // also when the server refuses CLIENT PAUSE (Redis before 6.2)
          }
        })();
        // Waves of concurrent requests, lone and batched calls alike, for as long as it stalls.
        const waves: Promise<void>[] = [];
        while (stalling) {
          waves.push(...CLIENTS.flatMap((client) => [decideOnce(client), decideOnce(client)]));
          peakPending = Math.max(peakPending, backend.pendingCommands);
          await sleep(10);
        }
        await stalls;
        await Promise.all(waves);
        // Let what the server answered late arrive, then the client reconnect if it dropped.
        while (backend.pendingCommands > 0) await sleep(20);
        let back: Decision | undefined;
        for (let attempt = 0; attempt < 100 && back?.source !== "backend"; attempt++) {
          back = await throttle.tryHit({ ip: "192.0.2.99" });
          if (back.source !== "backend") await sleep(50);
        }

        const report = () =>
          JSON.stringify({
            decisions: seen.length,
            bySource: countBy(seen, (s) => s.decision.source),
            slowestMs: Math.max(...seen.map((s) => s.ms)),
            peakPending,
          });
        assert.equal(
          back?.source,
          "backend",
          `decides on Redis again once it answers: ${report()}`,
        );
        assert.ok(
          seen.some((s) => s.decision.source === "error"),
          report(),
        );
        assert.ok(
          seen.every((s) => s.ms < ANSWER_BOUND_MS),
          `no request waited for the stall to end: ${report()}`,
        );
        assert.ok(peakPending <= MAX_PENDING, report());
        for (const client of CLIENTS) {
          const admitted = seen.filter(
            (s) => s.client === client && s.decision.source === "backend" && s.decision.allowed,
          ).length;
          const peeked = await throttle.peek({ ip: client }, { cost: 0 });
          assert.equal(
            peeked.limit - peeked.remaining,
            admitted,
            `${client}: Redis counts exactly what it admitted, not what it ran after the deadline: ${report()}`,
          );
        }
      });
    }
  });
