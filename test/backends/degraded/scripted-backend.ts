import { setTimeout as sleep } from "node:timers/promises";
import { InMemoryBackend } from "../../../src/backends/inmemory/index.js";

/** What one call of {@link ScriptedBackend.initialize} does: after `ms`, succeed or throw `error`. */
export interface Start {
  readonly ms?: number;
  readonly error?: Error;
}

/**
 * A backend in degraded mode whose `initialize` follows a script, one entry a call (the last
 * one repeats), so that degraded mode's handling of each way of failing to start can be
 * driven exactly; it decides in memory once started. Stands in for a networked backend's
 * start only: the networked backends themselves are tested on real servers.
 */
export class ScriptedBackend extends InMemoryBackend {
  readonly degradedMode = { probeIntervalMs: 20 };
  /** How many times `initialize` was called. */
  initializeCalls = 0;

  constructor(
    namespace: string,
    private readonly script: readonly Start[],
    timeoutMs = 100,
  ) {
    super({ namespace, timeoutMs });
  }

  override async initialize(): Promise<void> {
    const start = this.script[Math.min(this.initializeCalls, this.script.length - 1)] ?? {};
    this.initializeCalls++;
    if (start.ms !== undefined) await sleep(start.ms);
    if (start.error !== undefined) throw start.error;
    await super.initialize();
  }
}
