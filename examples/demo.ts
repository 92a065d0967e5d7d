/**
 * A node:http server behind two throttles on the in-memory backend. `npm start` serves it on
 * port 3000 (`PORT` to change) for you to `curl`; with `--self-drive` it listens on a free port,
 * sends itself a burst of requests, prints what came back and exits (the tests run it so).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
// traffik/express's middleware also serves a bare node:http server, headers and 429 included.
import { throttled } from "traffik/express";
import { SlidingWindowLogStrategy, TokenBucketStrategy } from "traffik/strategies";

const backend = new InMemoryBackend({ namespace: "demo" });
const burst = new HTTPThrottle({
  uid: "burst",
  rate: "2/s",
  strategy: new TokenBucketStrategy({ burstSize: 3 }),
});
// A sliding log counts the last minute from any moment, whenever the demo runs.
const perMinute = new HTTPThrottle({
  uid: "per-minute",
  rate: "5/m",
  strategy: new SlidingWindowLogStrategy(),
});
// All or nothing: a request counts against both throttles or, if either refuses it, neither.
// Every answer carries the RateLimit and RateLimit-Policy headers; a refusal is a 429 with
// Retry-After and a JSON body.
const limit = throttled(burst, perMinute);

const server = createServer((req, res) =>
  backend.run(() =>
    limit(req, res, (error) => {
      if (error !== undefined) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "Hello" }));
    }),
  ),
);

const selfDriving = process.argv.includes("--self-drive");

server.listen(selfDriving ? 0 : Number(process.env.PORT ?? 3000), "127.0.0.1", async () => {
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  if (!selfDriving) {
    console.log(`Listening on ${url}: bursts of 3 (then 2 a second), at most 5 a minute.`);
    console.log(`Try: for i in 1 2 3 4; do curl -si ${url} | head -1; done   (Ctrl-C stops it)`);
    return;
  }
  console.log(`Listening on ${url}; sending 8 requests one after another, then 1 after 1.5 s`);
  const send = async (n: number) => {
    const response = await fetch(url);
    const retry = response.headers.get("retry-after");
    const note = retry
      ? `Retry-After: ${retry}`
      : `RateLimit: ${response.headers.get("ratelimit")}`;
    console.log(`request ${n}: ${response.status} ${note} ${await response.text()}`);
  };
  for (let n = 1; n <= 8; n++) await send(n);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await send(9);
  await stop();
});

async function stop(): Promise<void> {
  server.close();
  await backend.close();
}
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
