import { rejectUnknownOptions } from "../../internal/known-keys.js";
import type { ThrottleBackend } from "../base.js";
import type { DecisionRequest } from "../types.js";

/**
 * Degraded mode: while a shared backend (or one of its nodes) is out, its requests are decided
 * by an in-process backend instead of `onError`, and handed back once it answers again. Each
 * process then admits each client at most its limit more, so an outage costs at most
 * (number of processes) × limit extra per client and window, instead of either everything
 * (`onError: "allow"`) or nothing (`onError: "throttle"`).
 */
export interface DegradedModeOptions {
  /** While a node is out, one request tries it again this often, in ms. @default 250 */
  probeIntervalMs?: number;
  /** Decides meanwhile. @default an `InMemoryBackend` (bounded in keys and bytes) */
  fallback?: ThrottleBackend;
}

/** A backend that may decide in degraded mode while it is out (the networked ones do). */
export interface DegradableBackend {
  /** Degraded mode's options, or `false` for `onError` to decide outages. */
  readonly degradedMode: DegradedModeOptions | false;
  /**
   * The node that decides `request` (a cluster master, a server of a ring), so that one node's
   * outage leaves the others' requests on them; the whole backend is one node without it.
   */
  outageNode?(request: DecisionRequest): string;
}

/** Whether `backend` declares degraded mode (see {@link DegradableBackend}). */
export function degradedModeOf(backend: object): DegradedModeOptions | false {
  const declared = (backend as Partial<DegradableBackend>).degradedMode;
  return declared === undefined ? false : declared;
}

/** `degradedMode` as an option takes it: `true` or nothing for the defaults, `false` for none. */
export function degradedModeOption(
  option: boolean | DegradedModeOptions | undefined,
): DegradedModeOptions | false {
  if (option === false) return false;
  if (option === true || option === undefined) return {};
  rejectUnknownOptions("degradedMode", option, { probeIntervalMs: true, fallback: true });
  return option;
}
