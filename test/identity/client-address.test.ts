import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigurationError, clientAddress } from "../../src/index.js";

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
    assert.equal(resolve(conn("10.0.0.1", { "x-forwarded-for": header })), "9.9.9.9");
    assert.ok(performance.now() - started < 1000);
  });

  it("rejects malformed configuration", () => {
    assert.throws(() => clientAddress({ trustedProxies: ["10.0.0.0/33"] }), ConfigurationError);
    assert.throws(() => clientAddress({ trustedProxies: ["proxy.local"] }), ConfigurationError);
    assert.throws(() => clientAddress({ ipv6Subnet: 0 }), ConfigurationError);
  });
});
