import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import express, { type Request } from "express";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ThrottleMiddleware, throttled } from "traffik/express";

const CODE = "TRAFFIK_PERMISSIVE_TRUST_PROXY";

/** Listens on a free loopback port, closing with the test even when it fails. */
async function listen(t: TestContext, server: Server): Promise<string> {
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((done) => server.close(() => done()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An app with one per-client throttle of 5 a minute on every path. */
function appWith(trustProxy: unknown, route: "throttled" | "middleware") {
  // Time stands still: a run that crossed a minute would start a fresh window (10 admitted, not 5).
  const backend = new InMemoryBackend({ namespace: "trust-proxy", clock: () => 0 });
  const perClient = new HTTPThrottle<Request>({ uid: "per-client", rate: "5/m", backend });
  const app = express();
  app.set("trust proxy", trustProxy);
  const ok = (_req: Request, res: express.Response) => void res.send("ok");
  if (route === "throttled") app.get(/.*/, throttled(perClient), ok);
  else app.use(ThrottleMiddleware({ backend }), throttled(perClient), ok);
  return app;
}

/** Collects Traffik's trust-proxy warnings for the length of the test. */
function collectWarnings(t: TestContext): Error[] {
  const seen: Error[] = [];
  const listener = (warning: Error) => {
    if ((warning as { code?: string }).code === CODE) seen.push(warning);
  };
  process.on("warning", listener);
  t.after(() => process.off("warning", listener));
  return seen;
}

/** Sends 20 requests, each claiming another address; how many were admitted. */
async function spoofedAdmissions(url: string): Promise<number> {
  let admitted = 0;
  for (let n = 0; n < 20; n++) {
    const response = await fetch(`${url}/r${n}`, {
      headers: { "x-forwarded-for": `198.51.100.${n}` },
    });
    await response.arrayBuffer();
    if (response.status === 200) admitted++;
  }
  return admitted;
}

/** Warnings are emitted on the next tick; let them arrive. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("Express `trust proxy: true`", () => {
  for (const route of ["throttled", "middleware"] as const) {
    it(`is warned about once per app, with a code (${route})`, async (t) => {
      const warnings = collectWarnings(t);
      const url = await listen(t, createServer(appWith(true, route)));
      // What the warning is about: every spoofed address is a fresh client.
      assert.equal(await spoofedAdmissions(url), 20);
      await settle();
      assert.equal(warnings.length, 1);
      assert.match(String(warnings[0]?.message), /trust proxy/);
    });
  }

  it("is not warned about for a hop count, a subnet, or off", async (t) => {
    const warnings = collectWarnings(t);
    for (const setting of [1, "loopback", false]) {
      const url = await listen(t, createServer(appWith(setting, "throttled")));
      await (await fetch(url)).arrayBuffer();
    }
    await settle();
    assert.equal(warnings.length, 0);
  });

  it("as advised, a hop count behind a real proxy: a spoofed X-Forwarded-For gains nothing", async (t) => {
    const warnings = collectWarnings(t);
    const appUrl = new URL(await listen(t, createServer(appWith(1, "throttled"))));
    // A reverse proxy that appends its peer to X-Forwarded-For, as nginx and most do.
    const proxy = createServer((incoming, outgoing) => {
      const prior = incoming.headers["x-forwarded-for"];
      const forwarded = [prior, incoming.socket.remoteAddress].filter(Boolean).join(", ");
      const upstream = request(
        {
          host: appUrl.hostname,
          port: appUrl.port,
          path: incoming.url,
          method: incoming.method,
          headers: { ...incoming.headers, "x-forwarded-for": forwarded },
          agent: false,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      upstream.on("error", () => outgoing.destroy());
      incoming.pipe(upstream);
    });
    const proxyUrl = await listen(t, proxy);
    assert.equal(await spoofedAdmissions(proxyUrl), 5, "the limit, whatever the client wrote");
    await settle();
    assert.equal(warnings.length, 0);
  });
});
