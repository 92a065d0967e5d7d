/**
 * The `traffik.throttled` span event, with the real tracing SDK (sdk-trace-base, an in-memory
 * exporter) and AsyncLocalStorage context, on a real Express server: each throttled request's
 * span gets one, admitted requests' spans none, on the synchronous path (in-memory backend)
 * and on the asynchronous one (an async identifier), where the decision is published after an
 * await, still in the request's context.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import express from "express";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { HTTPThrottle } from "../../src/index.js";
import { MiddlewareThrottle, ThrottleMiddleware } from "../../src/integrations/express/index.js";
import { instrumentTraffik } from "../../src/otel/index.js";
import { testMeterProvider } from "./support.js";

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});

/** Serves an Express app where each request runs in a span of its own, as HTTP instrumentation does. */
async function serve(throttle: HTTPThrottle<express.Request>, backend: InMemoryBackend) {
  const tracer = trace.getTracer("test");
  const app = express();
  app.use((req, res, next) => {
    const span = tracer.startSpan(`GET ${req.path}`);
    res.on("finish", () => {
      span.setAttribute("http.response.status_code", res.statusCode);
      span.end();
    });
    context.with(trace.setSpan(context.active(), span), next);
  });
  app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(throttle)] }));
  app.get("/", (_req, res) => {
    res.send("ok");
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Sends `count` requests one after another, then reads each one's span, in order. */
async function requestSpans(url: string, count: number): Promise<ReadableSpan[]> {
  exporter.reset();
  for (let i = 0; i < count; i++) await (await fetch(url)).text();
  const spans = exporter.getFinishedSpans();
  assert.equal(spans.length, count);
  return [...spans].sort(
    (a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + a.startTime[1] - b.startTime[1],
  );
}

const statusOf = (span: ReadableSpan) => span.attributes["http.response.status_code"];

describe("the traffik.throttled span event (real tracing SDK, Express)", () => {
  const backend = new InMemoryBackend({ namespace: "otel-spans" });

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(tracerProvider);
  });
  after(async () => {
    trace.disable();
    context.disable();
    await tracerProvider.shutdown();
    await backend.close();
  });

  for (const path of ["synchronous", "asynchronous"] as const) {
    it(`is added to each throttled request's span, on the ${path} decision path`, async (t) => {
      const stop = await instrumentTraffik({ meterProvider: testMeterProvider().meterProvider });
      t.after(stop);
      const address = (req: express.Request) => req.socket.remoteAddress ?? "";
      const throttle = new HTTPThrottle<express.Request>({
        uid: `spans-${path}`,
        rate: "2/h",
        identifier: path === "synchronous" ? address : async (req) => address(req),
      });
      const app = await serve(throttle, backend);
      t.after(app.close);
      const spans = await requestSpans(app.url, 4);
      assert.deepEqual(spans.map(statusOf), [200, 200, 429, 429]);
      for (const span of spans) {
        const events = span.events.filter((event) => event.name === "traffik.throttled");
        assert.equal(events.length, statusOf(span) === 429 ? 1 : 0, `${statusOf(span)}`);
      }
      const [event] = (spans[2] as ReadableSpan).events;
      const { "traffik.decision.retry_after_ms": retryAfterMs, ...attributes } =
        event?.attributes ?? {};
      assert.deepEqual(attributes, {
        "traffik.throttle.uid": `spans-${path}`,
        "traffik.throttle.mode": "enforce",
        "traffik.strategy": throttle.strategy.name,
        "traffik.decision.source": "backend",
        "traffik.decision.limit": 2,
        "traffik.decision.remaining": 0,
        "traffik.decision.cost": 1,
        "traffik.backend": "otel-spans",
      });
      assert.ok(typeof retryAfterMs === "number" && retryAfterMs > 0, `${retryAfterMs}`);
    });
  }

  it("is left out with spanEvents: false; the metrics are still recorded", async (t) => {
    const sdk = testMeterProvider();
    const stop = await instrumentTraffik({ meterProvider: sdk.meterProvider, spanEvents: false });
    t.after(stop);
    const throttle = new HTTPThrottle<express.Request>({ uid: "spans-off", rate: "1/h" });
    const app = await serve(throttle, backend);
    t.after(app.close);
    const spans = await requestSpans(app.url, 2);
    assert.deepEqual(spans.map(statusOf), [200, 429]);
    assert.deepEqual(
      spans.flatMap((span) => span.events),
      [],
    );
    const { points } = await sdk.sum("traffik.decisions");
    assert.equal(
      points.reduce((total, point) => total + point.value, 0),
      2,
    );
  });
});
