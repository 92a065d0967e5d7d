/**
 * OpenTelemetry metrics and span events for Traffik, read from its `traffik:` diagnostics
 * channels, off the decision path: `instrumentTraffik()`. Needs `@opentelemetry/api`, an
 * optional peer; the app brings the SDK and the exporter.
 *
 * @module
 */
export { type InstrumentTraffikOptions, instrumentTraffik } from "./instrument.js";
