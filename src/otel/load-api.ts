import type * as OpenTelemetryApi from "@opentelemetry/api";
import { ConfigurationError } from "../errors.js";

/** What Traffik uses of `@opentelemetry/api`. @internal */
export type OpenTelemetry = Pick<
  typeof OpenTelemetryApi,
  "createNoopMeter" | "metrics" | "trace" | "ValueType"
>;

/**
 * Loads `@opentelemetry/api`, an optional peer of Traffik: only `traffik/otel` needs it.
 * @throws {ConfigurationError} when it is not installed. @internal
 */
export async function loadOpenTelemetry(): Promise<OpenTelemetry> {
  try {
    return await import("@opentelemetry/api");
  } catch (error) {
    throw new ConfigurationError(
      'traffik/otel needs the "@opentelemetry/api" package, which is not installed: npm install @opentelemetry/api',
      { cause: error },
    );
  }
}
