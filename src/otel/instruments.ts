import type {
  Counter,
  Histogram,
  Meter,
  ObservableCounter,
  UpDownCounter,
  ValueType,
} from "@opentelemetry/api";

/**
 * Bucket bounds of `traffik.decision.duration`, in seconds: from 10 µs (an in-process decision
 * takes a few) through a network round trip (0.1–1 ms) to a backend's deadline and a queueing
 * strategy's wait (seconds). OpenTelemetry's default bounds (0–10 000) suit milliseconds, not
 * seconds. A View in the SDK overrides them.
 */
const DURATION_BUCKETS_SECONDS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
  0.25, 0.5, 1, 2.5, 5, 10,
];

/** Traffik's instruments: the metrics table of the README, in code. @internal */
export interface TraffikInstruments {
  /** Observed: see `decision-tally.ts`. */
  readonly decisions: ObservableCounter;
  readonly decisionDuration: Histogram;
  readonly backendErrors: Counter;
  readonly backendStateChanges: Counter;
  readonly activeOutages: UpDownCounter;
}

/** Creates Traffik's instruments on `meter`. @internal */
export function createInstruments(meter: Meter, valueType: typeof ValueType): TraffikInstruments {
  const whole = { valueType: valueType.INT };
  return {
    decisions: meter.createObservableCounter("traffik.decisions", {
      description: "Decisions of Traffik's throttles, by throttle, outcome and source.",
      unit: "{decision}",
      ...whole,
    }),
    decisionDuration: meter.createHistogram("traffik.decision.duration", {
      description: "Time from a request to its verdict, a queueing delay included.",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS_SECONDS },
    }),
    backendErrors: meter.createCounter("traffik.backend.errors", {
      description: "Backend failures a throttle's onError decided, by action and error type.",
      unit: "{error}",
      ...whole,
    }),
    backendStateChanges: meter.createCounter("traffik.backend.state_changes", {
      description: "Backends ready, closed, out and back.",
      unit: "{change}",
      ...whole,
    }),
    activeOutages: meter.createUpDownCounter("traffik.backend.active_outages", {
      description: "Backend nodes out now, their requests decided in-process (degraded mode).",
      unit: "{outage}",
      ...whole,
    }),
  };
}
