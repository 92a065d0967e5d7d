import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { Meter, MeterProvider } from "@opentelemetry/api";
import { ConfigurationError } from "../errors.js";
import { CHANNELS } from "../events/channels.js";
import type {
  BackendErrorEvent,
  BackendStateEvent,
  DecisionEvent,
  ThrottledEvent,
} from "../events/types.js";
import { rejectUnknownOptions } from "../internal/known-keys.js";
import {
  backendErrorAttributes,
  durationAttributes,
  stateAttributes,
  throttledSpanEventAttributes,
} from "./attributes.js";
import { DecisionTally } from "./decision-tally.js";
import { createInstruments } from "./instruments.js";
import { loadOpenTelemetry, type OpenTelemetry } from "./load-api.js";
import { OutageCount } from "./outage-count.js";

/** Options of {@link instrumentTraffik}. */
export interface InstrumentTraffikOptions {
  /**
   * Where Traffik's meter (named `traffik`) comes from. Defaults to the global MeterProvider,
   * the one an OpenTelemetry SDK registers: start the SDK first, as instruments taken from
   * the global provider before it is registered record nothing.
   */
  meterProvider?: MeterProvider;
  /** A meter to create Traffik's instruments on, instead of one from `meterProvider`. */
  meter?: Meter;
  /**
   * Whether a throttled request adds a `traffik.throttled` event to the span active where it
   * was decided (when one is, and it records). Defaults to `true`.
   */
  spanEvents?: boolean;
}

const OPTION_NAMES = { meterProvider: true, meter: true, spanEvents: true } as const;

/**
 * Records Traffik's decisions, `onError` decisions and backend state changes as OpenTelemetry
 * metrics (`traffik.decisions`, `traffik.decision.duration`, `traffik.backend.errors`,
 * `traffik.backend.state_changes`, `traffik.backend.active_outages`), and each throttled
 * request as a `traffik.throttled` event on the active span, by subscribing to the `traffik:`
 * diagnostics channels. Needs `@opentelemetry/api` (an optional peer) and, to export anything,
 * an OpenTelemetry SDK set up by the app. Call it once per meter: a second call on the same
 * meter would record the same decisions twice.
 *
 * @returns a function that stops recording (unsubscribes); decisions then cost what they did
 * before, when nothing else listens.
 * @throws {ConfigurationError} (as a rejection) for an unknown option, both `meter` and
 * `meterProvider`, one that is not a meter or a provider, or when `@opentelemetry/api` is not
 * installed.
 */
export async function instrumentTraffik(
  options: InstrumentTraffikOptions = {},
): Promise<() => void> {
  checkOptions(options);
  const api = await loadOpenTelemetry();
  const meter = meterOf(api, options);
  const instruments = createInstruments(meter, api.ValueType);
  const outages = new OutageCount(instruments.activeOutages);
  const tally = new DecisionTally();
  // Kept after stopping: the counts then stand still, as a synchronous counter's would.
  instruments.decisions.addCallback(tally.observe);
  const guard = guarded();

  const listeners: [string, (message: unknown) => void][] = [
    [
      CHANNELS.decision,
      guard((message) => {
        const event = message as DecisionEvent;
        tally.count(event);
        instruments.decisionDuration.record(event.durationMs / 1000, durationAttributes(event));
      }),
    ],
    [
      CHANNELS.backendError,
      guard((message) => {
        instruments.backendErrors.add(1, backendErrorAttributes(message as BackendErrorEvent));
      }),
    ],
    [
      CHANNELS.backendState,
      guard((message) => {
        const event = message as BackendStateEvent;
        instruments.backendStateChanges.add(1, stateAttributes(event));
        outages.update(event);
      }),
    ],
  ];
  if (options.spanEvents !== false) {
    listeners.push([
      CHANNELS.throttled,
      guard((message) => {
        // Subscribers run synchronously where the decision was published: in the request's
        // context, so its span is the active one.
        const span = api.trace.getActiveSpan();
        if (span === undefined || !span.isRecording()) return;
        span.addEvent("traffik.throttled", throttledSpanEventAttributes(message as ThrottledEvent));
      }),
    ]);
  }
  for (const [name, listener] of listeners) subscribe(name, listener);
  let stopped = false;
  return function stopTraffikInstrumentation(): void {
    if (stopped) return;
    stopped = true;
    for (const [name, listener] of listeners) unsubscribe(name, listener);
  };
}

function checkOptions(options: InstrumentTraffikOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new ConfigurationError("instrumentTraffik: options must be an object.");
  }
  rejectUnknownOptions("instrumentTraffik", options, OPTION_NAMES);
  const { meter, meterProvider, spanEvents } = options;
  if (meter !== undefined && meterProvider !== undefined) {
    throw new ConfigurationError("instrumentTraffik: give meter or meterProvider, not both.");
  }
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== "function") {
    throw new ConfigurationError(
      "instrumentTraffik: meterProvider must be an OpenTelemetry MeterProvider (with getMeter).",
    );
  }
  const methods = [
    "createCounter",
    "createHistogram",
    "createObservableCounter",
    "createUpDownCounter",
  ] as const;
  if (meter !== undefined && methods.some((name) => typeof meter?.[name] !== "function")) {
    throw new ConfigurationError(
      `instrumentTraffik: meter must be an OpenTelemetry Meter (with ${methods.join(", ")}).`,
    );
  }
  if (spanEvents !== undefined && typeof spanEvents !== "boolean") {
    throw new ConfigurationError(
      `instrumentTraffik: spanEvents must be true or false, got ${JSON.stringify(spanEvents)}.`,
    );
  }
}

/** The meter given, or Traffik's from the provider given or the global one. */
function meterOf(api: OpenTelemetry, options: InstrumentTraffikOptions): Meter {
  if (options.meter !== undefined) return options.meter;
  if (options.meterProvider !== undefined) return options.meterProvider.getMeter("traffik");
  const meter = api.metrics.getMeter("traffik");
  // Unlike tracing's, the global metrics API has no proxy: instruments taken before an SDK
  // registers its provider stay no-ops for good. Say so, once, rather than export nothing.
  if (meter instanceof api.createNoopMeter().constructor) {
    process.emitWarning(
      "instrumentTraffik: no global OpenTelemetry MeterProvider is registered, so Traffik's metrics go nowhere. Start the SDK first, or pass meterProvider.",
      { code: "TRAFFIK_OTEL_NO_METER_PROVIDER" },
    );
  }
  return meter;
}

/**
 * Wraps listeners so that none throws: a diagnostics_channel subscriber that throws is rethrown
 * on the next tick, an uncaught exception that would end the process for a metric. The first
 * failure of an instrumentation is reported as a process warning; the decision stands.
 */
function guarded(): (listener: (message: unknown) => void) => (message: unknown) => void {
  let warned = false;
  return (listener) => (message) => {
    try {
      listener(message);
    } catch (error) {
      if (warned) return;
      warned = true;
      process.emitWarning(
        `traffik/otel could not record an event, and will not say so again: ${error instanceof Error ? error.message : String(error)}`,
        { code: "TRAFFIK_OTEL_FAILED" },
      );
    }
  };
}
