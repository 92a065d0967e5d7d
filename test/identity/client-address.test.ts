import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigurationError } from "../../src/errors.js";
import { defaultClientAddress } from "../../src/identity/client-address.js";
import { clientAddress } from "../../src/index.js";

const conn = (remoteAddress: string | undefined, headers: Record<string, string> = {}) => ({
  socket: { remoteAddress },
  headers,
});

describe("clientAddress", () => {
  it("uses the socket's address and ignores forwarding headers by default", () => {
    const resolve = clientAddress();
    assert.equal(resolve(conn("203.0.113.9", { "x-forwarded-for": "1.1.1.1" })), "203.0.113.9");
    assert.equal(resolve(conn("203.0.113.9", { forwarded: "for=1.1.1.1" })), "203.0.113.9");
    assert.equal(resolve(conn(undefined)), undefined);
    assert.equal(resolve({}), undefined);
  });

  it("folds IPv4-mapped IPv6 to IPv4 and groups IPv6 by /56", () => {
    const resolve = clientAddress();
    assert.equal(resolve(conn("::ffff:198.51.100.7")), "198.51.100.7");
    const a = resolve(conn("2001:db8:abcd:12ff:1:2:3:4"));
    assert.equal(a, "2001:db8:abcd:1200:0:0:0:0/56");
    assert.equal(resolve(conn("2001:db8:abcd:1234::99")), a, "the same /56");
    assert.notEqual(resolve(conn("2001:db8:abcd:1300::1")), a);
    assert.equal(clientAddress({ ipv6Subnet: 64 })(conn("fe80::1%eth0")), "fe80:0:0:0:0:0:0:0/64");
    assert.equal(clientAddress({ ipv6Subnet: 128 })(conn("2001:db8::1")), "2001:db8::1");
  });

  it("believes X-Forwarded-For only from trusted proxies, reading from the right", () => {
    const resolve = clientAddress({ trustedProxies: ["10.0.0.0/8", "::1"] });
    // The client wrote "6.6.6.6" itself; the proxy appended the real peer.
    const spoofed = conn("10.1.2.3", { "x-forwarded-for": "6.6.6.6, 198.51.100.20" });
    assert.equal(resolve(spoofed), "198.51.100.20");
    assert.equal(
      resolve(conn("10.1.2.3", { "x-forwarded-for": "198.51.100.20, 10.9.9.9" })),
      "198.51.100.20",
    );
    assert.equal(resolve(conn("203.0.113.1", { "x-forwarded-for": "1.2.3.4" })), "203.0.113.1");
    assert.equal(resolve(conn("::1", { "x-forwarded-for": "192.0.2.1" })), "192.0.2.1");
    assert.equal(resolve(conn("10.1.2.3", { "x-forwarded-for": "junk" })), "10.1.2.3");
  });

  it("reads RFC 7239 Forwarded when told to", () => {
    const resolve = clientAddress({ trustedProxies: ["127.0.0.1"], proxyHeader: "forwarded" });
    const headers = { forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https' };
    assert.equal(resolve(conn("127.0.0.1", headers)), "2001:db8:cafe:0:0:0:0:0/56");
    assert.equal(
      resolve(conn("127.0.0.1", { forwarded: "for=192.0.2.60:8080;by=x" })),
      "192.0.2.60",
    );
    assert.equal(resolve(conn("127.0.0.1", { "x-forwarded-for": "1.2.3.4" })), "127.0.0.1");
  });

  it("stays bounded on a hostile header", () => {
    const resolve = clientAddress({ trustedProxies: ["0.0.0.0/0"] });
    const header = `${"9.9.9.9, ".repeat(200_000)}8.8.8.8`;
    const started = performance.now();
    // Past 32 trusted hops the client cannot be traced: no address, rather than a proxy's.
    assert.equal(resolve(conn("10.0.0.1", { "x-forwarded-for": header })), undefined);
    assert.ok(performance.now() - started < 1000);
  });

  it("reads hops written with a port, IPv4 `ip:port` and IPv6 `[v6]:port`", () => {
    const resolve = clientAddress({ trustedProxies: ["10.0.0.0/8"] });
    const via = (xff: string) => resolve(conn("10.1.2.3", { "x-forwarded-for": xff }));
    assert.equal(via("198.51.100.7:5123"), "198.51.100.7");
    assert.equal(via("198.51.100.8:5123"), "198.51.100.8", "two clients, two buckets");
    assert.equal(via("[2001:db8:cafe::17]:4711"), "2001:db8:cafe:0:0:0:0:0/56");
    assert.equal(via("[2001:db8:cafe::17]"), "2001:db8:cafe:0:0:0:0:0/56");
    assert.equal(via("6.6.6.6, 198.51.100.20:1234, 10.9.9.9:443"), "198.51.100.20");
    assert.equal(via("[::ffff:198.51.100.9]:80"), "198.51.100.9");
    // A port that is not a port leaves the hop malformed, as before.
    assert.equal(via("198.51.100.7:http"), "10.1.2.3");
  });

  it("never answers a proxy's own address for more than 32 trusted hops", () => {
    const resolve = clientAddress({ trustedProxies: ["10.0.0.0/8"] });
    const via = (xff: string) => resolve(conn("10.1.2.3", { "x-forwarded-for": xff }));
    const trustedHops = (n: number) => Array.from({ length: n }, (_, i) => `10.0.${i}.1`);
    assert.equal(via(["198.51.100.1", ...trustedHops(31)].join(", ")), "198.51.100.1");
    // All trusted and the header ends: its left-most hop is the client, inside the network.
    assert.equal(via(trustedHops(32).join(", ")), "10.0.0.1");
    assert.equal(via(["198.51.100.1", ...trustedHops(32)].join(", ")), undefined);
    assert.equal(via(["198.51.100.1", ...trustedHops(40)].join(", ")), undefined);
  });

  it("folds IPv4-mapped IPv6 written in hex to IPv4, like the dotted form", () => {
    const resolve = clientAddress();
    for (const mapped of ["::ffff:102:304", "::FFFF:0102:0304", "0:0:0:0:0:ffff:102:304"]) {
      assert.equal(resolve(conn(mapped)), "1.2.3.4", mapped);
    }
    assert.notEqual(resolve(conn("::ffff:102:305")), resolve(conn("::ffff:102:304")));
    assert.equal(defaultClientAddress({ ip: "::ffff:c633:6407" }), "198.51.100.7");
    const behindProxy = clientAddress({ trustedProxies: ["::ffff:a00:1"] });
    assert.equal(
      behindProxy(conn("10.0.0.1", { "x-forwarded-for": "::ffff:c633:6407" })),
      "198.51.100.7",
    );
  });

  it("rejects malformed configuration", () => {
    assert.throws(() => clientAddress({ trustedProxies: ["10.0.0.0/33"] }), ConfigurationError);
    assert.throws(() => clientAddress({ trustedProxies: ["proxy.local"] }), ConfigurationError);
    assert.throws(() => clientAddress({ ipv6Subnet: 0 }), ConfigurationError);
  });
});

describe("the peer address of a real socket", () => {
  it("is the socket's remoteAddress, while open, once destroyed, and while reconnecting", async () => {
    const accepted: Socket[] = [];
    const server = createServer((socket) => accepted.push(socket));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const client = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" });
    try {
      await once(client, "connect");
      while (accepted.length === 0) await new Promise((done) => setImmediate(done));
      const socket = accepted[0] as Socket;
      const resolve = clientAddress();
      assert.equal(resolve({ socket }), "127.0.0.2");
      assert.equal(resolve({ socket }), socket.remoteAddress);
      assert.equal(defaultClientAddress({ socket }), "127.0.0.2");
      socket.destroy();
      assert.equal(resolve({ socket }), "127.0.0.2");
      // Node forgets the peer when a socket connects again: what the getter says then.
      const reconnecting = Object.assign(Object.create(socket) as Socket, { _peername: null });
      assert.equal(resolve({ socket: reconnecting }), reconnecting.remoteAddress);
    } finally {
      client.destroy();
      for (const socket of accepted) socket.destroy();
      server.close();
      await once(server, "close");
    }
  });
});

describe("the default identifier knows no framework", () => {
  it("finds a Hono Context's Node request only once the Hono adapter has taught it where", () => {
    // A fresh process: nothing has loaded the Hono adapter yet.
    const script = `
      const { defaultClientAddress } = await import("./src/identity/client-address.ts");
      const context = { env: { incoming: { socket: { remoteAddress: "192.0.2.9" } } } };
      const nested = { env: { server: { incoming: { socket: { remoteAddress: "192.0.2.10" } } } } };
      const before = [defaultClientAddress(context) ?? null, defaultClientAddress(nested) ?? null];
      await import("./src/integrations/hono/index.ts");
      const after = [defaultClientAddress(context) ?? null, defaultClientAddress(nested) ?? null];
      console.log(JSON.stringify({ before, after }));
    `;
    const output = execFileSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "--eval", script],
      { cwd: join(import.meta.dirname, "..", ".."), encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(output), {
      before: [null, null],
      after: ["192.0.2.9", "192.0.2.10"],
    });
  });
});
