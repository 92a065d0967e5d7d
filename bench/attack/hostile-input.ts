/**
 * Hostile input (issue 14, items 4, 5, 12): text a client or a careless config controls.
 *
 * - Rate text built to make a backtracking parser work (100 000 spaces, "per" repeated):
 *   each is refused, and the time it took is printed.
 * - Spoofed X-Forwarded-For against a real Express app on loopback behind a real proxy that
 *   appends its peer, with `trust proxy` at 1 (as Traffik's warning advises): admitted against
 *   the limit. `trust proxy: true` is run too, for the figure the warning is about.
 * - Forwarding hops written `ip:port`: an attacker's flood must not lock out another client.
 * - Identities that once shared a bucket on Redis and Memcached: a victim must still be admitted
 *   after the attacker spent its own limit.
 *
 * Exits non-zero when anything got past a limit, a victim was locked out, or a parse took > 50 ms.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type Request } from "express";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { MemcachedBackend } from "../../src/backends/memcached/index.js";
import { RedisBackend } from "../../src/backends/redis/index.js";
import { clientAddress, HTTPThrottle, Rate } from "../../src/index.js";
import { throttled } from "../../src/integrations/express/index.js";
import { hasBinary, startMemcached, startRedis } from "../../test/support/servers.js";

let broken = false;
const report = (what: string, figure: string, held: boolean) => {
  if (!held) broken = true;
  console.log(`${held ? "held " : "BROKE"}  ${what}: ${figure}`);
};

async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}

function rateText(): void {
  const inputs: [string, string][] = [
    ["100 000 spaces", " ".repeat(100_000)],
    ["1, 100 000 spaces, /m", `1${" ".repeat(100_000)}/m`],
    ['"per " x 25 000', `1 ${"per ".repeat(25_000)}m`],
    ["100 000 digits", `${"1".repeat(100_000)}/m`],
    // Where the old pattern split a run of spaces between its \s groups: quadratic and worse.
    ["1, 20 000 spaces, x", `1${" ".repeat(20_000)}x`],
    ["1/, 20 000 spaces, !", `1/${" ".repeat(20_000)}!`],
    ["1 per, 2 000 spaces, !", `1 per${" ".repeat(2_000)}!`],
  ];
  for (const [name, input] of inputs) {
    const started = performance.now();
    let refused = false;
    try {
      Rate.parse(input);
    } catch {
      refused = true;
    }
    const ms = performance.now() - started;
    report(
      `Rate.parse(${name})`,
      `${refused ? "refused" : "ACCEPTED"} in ${ms.toFixed(3)} ms`,
      refused && ms < 50,
    );
  }
}

/** 100 requests, each claiming a new address, through a proxy that appends its peer. */
async function spoofedForwardedFor(trustProxy: number | boolean): Promise<number> {
  const backend = new InMemoryBackend({ namespace: "spoof" });
  const perClient = new HTTPThrottle<Request>({ uid: "per-client", rate: "10/m", backend });
  const app = express();
  app.set("trust proxy", trustProxy);
  app.use(throttled(perClient), (_req, res) => void res.send("ok"));
  const upstream = await listen(createServer(app));
  const target = new URL(upstream.url);
  const proxy = await listen(
    createServer((incoming, outgoing) => {
      const forwarded = [incoming.headers["x-forwarded-for"], incoming.socket.remoteAddress]
        .filter(Boolean)
        .join(", ");
      const headers = { ...incoming.headers, "x-forwarded-for": forwarded };
      const options = { host: target.hostname, port: target.port, path: incoming.url, headers };
      const forward = request({ ...options, agent: false }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forward.on("error", () => outgoing.destroy());
      incoming.pipe(forward);
    }),
  );
  let admitted = 0;
  try {
    for (let n = 0; n < 100; n++) {
      const headers = { "x-forwarded-for": `198.51.${n >> 8}.${n & 255}` };
      const response = await fetch(proxy.url, { headers });
      await response.arrayBuffer();
      if (response.status === 200) admitted++;
    }
  } finally {
    await proxy.close();
    await upstream.close();
  }
  return admitted;
}

/** An attacker behind a trusted proxy that writes `ip:port` floods; is its neighbour still admitted? */
async function portedHops(): Promise<boolean> {
  const backend = new InMemoryBackend({ namespace: "ported" });
  const address = clientAddress({ trustedProxies: ["127.0.0.1"] });
  const perClient = new HTTPThrottle({
    uid: "ported",
    rate: "5/m",
    backend,
    identifier: (req) => address(req) ?? "unknown",
  });
  const from = (hop: string) => ({
    socket: { remoteAddress: "127.0.0.1" },
    headers: { "x-forwarded-for": hop },
  });
  for (let i = 0; i < 1000; i++) await perClient.tryHit(from(`203.0.113.66:${1024 + i}`));
  return (await perClient.tryHit(from("198.51.100.7:5000"))).allowed;
}

/** For each pair that once collided: the attacker spends its limit, then the victim asks. */
async function collidingIdentities(backend: ThrottleBackend): Promise<number> {
  const long = "k".repeat(257);
  const { createHash } = await import("node:crypto");
  const pairs = [
    [`#${createHash("sha256").update(long).digest("base64url")}`, long],
    ["\uDC00", "\uD800"],
    ["a\uDBFFb", "a\uD800b"],
  ];
  const throttle = new HTTPThrottle<string>({
    uid: "victim",
    rate: "3/h",
    backend,
    identifier: (s) => s,
  });
  let lockedOut = 0;
  for (const [attacker = "", victim = ""] of pairs) {
    for (let i = 0; i < 10; i++) await throttle.tryHit(attacker);
    if (!(await throttle.tryHit(victim)).allowed) lockedOut++;
  }
  return lockedOut;
}

rateText();
const advised = await spoofedForwardedFor(1);
report(
  "spoofed X-Forwarded-For, trust proxy 1, limit 10",
  `${advised} of 100 admitted`,
  advised <= 10,
);
const permissive = await spoofedForwardedFor(true);
console.log(
  `note   spoofed X-Forwarded-For, trust proxy true (warned about): ${permissive} of 100 admitted`,
);
const neighbourAdmitted = await portedHops();
report(
  "1 000 requests from one ip:port client, then its neighbour",
  neighbourAdmitted ? "neighbour admitted" : "neighbour LOCKED OUT",
  neighbourAdmitted,
);

if (hasBinary("redis-server")) {
  const server = await startRedis();
  const backend = new RedisBackend({ connection: server.url, namespace: "collide" });
  try {
    const lockedOut = await collidingIdentities(backend);
    report(
      "Redis, once-colliding identities",
      `${lockedOut} of 3 victims locked out`,
      lockedOut === 0,
    );
  } finally {
    await backend.close();
    await server.stop();
  }
}
if (hasBinary("memcached")) {
  const server = await startMemcached();
  const backend = new MemcachedBackend({ servers: [server.address], namespace: "collide" });
  try {
    await backend.initialize();
    const lockedOut = await collidingIdentities(backend);
    report(
      "Memcached, once-colliding identities",
      `${lockedOut} of 3 victims locked out`,
      lockedOut === 0,
    );
  } finally {
    await backend.close();
    await server.stop();
  }
}
process.exitCode = broken ? 1 : 0;
