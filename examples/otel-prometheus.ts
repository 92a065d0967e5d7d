/**
 * Traffik's OpenTelemetry metrics on a Prometheus endpoint: an Express app limited by Traffik
 * (in memory), the OpenTelemetry SDK's MeterProvider with the Prometheus exporter serving
 * /metrics on a port of its own, and `instrumentTraffik` between them. Run it with
 * `npx tsx examples/otel-prometheus.ts`, send a few requests to
 * http://localhost:3000/api/data, then read http://localhost:9464/metrics.
 */
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import express from "express";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/express";
import { instrumentTraffik } from "traffik/otel";

/** Where the app and its metrics listen: the app's port may be 0 (a free one). */
export interface ExampleOptions {
  port?: number;
  metricsPort?: number;
  host?: string;
}

/** Starts the app and the metrics endpoint; `close()` stops both. */
export async function start({ port = 3000, metricsPort = 9464, host = "127.0.0.1" } = {}) {
  // The exporter is a metric reader: Prometheus pulls from it, in its text format.
  const exporter = new PrometheusExporter({ host, port: metricsPort, preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const stopMetrics = await instrumentTraffik({ meterProvider });
  await exporter.startServer();

  const backend = new InMemoryBackend({ namespace: "otel-example" });
  const api = new HTTPThrottle({ uid: "api", rate: "100/m" });
  const data = new HTTPThrottle({ uid: "data", rate: "5/10s" });
  const app = express();
  app.use(
    ThrottleMiddleware({
      backend,
      middlewareThrottles: [MiddlewareThrottle(api, { path: "/api/" })],
    }),
  );
  app.get("/api/data", throttled(data), (_req, res) => {
    res.json({ message: "Success" });
  });
  const server = app.listen(port, host);
  await once(server, "listening");

  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}`,
    metricsUrl: `http://${host}:${metricsPort}/metrics`,
    async close(): Promise<void> {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      stopMetrics();
      await meterProvider.shutdown(); // stops the exporter's server too
      await backend.close();
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const running = await start({
    port: Number(process.env.PORT ?? 3000),
    metricsPort: Number(process.env.METRICS_PORT ?? 9464),
  });
  console.log(`App on ${running.url}/api/data, metrics on ${running.metricsUrl}`);
  process.once("SIGINT", () => void running.close());
}
