/** Allow and deny lists: what matches, what is refused at construction, and hostile input. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ConfigurationError } from "../../src/errors.js";
import { compileAddressList } from "../../src/identity/address-list.js";

describe("compileAddressList", () => {
  const list = compileAddressList(
    [
      "203.0.113.7",
      "10.0.0.0/8",
      "192.168.4.0/22",
      "2001:db8::/32",
      "fe80::1",
      "::ffff:198.51.100.0/120",
    ],
    "test",
  );

  it("matches addresses and CIDR ranges of both families", () => {
    for (const hit of [
      "203.0.113.7",
      "10.255.1.2",
      "192.168.7.255",
      "2001:db8:ffff::1",
      "2001:DB8::",
      "fe80::1",
      "198.51.100.42",
    ]) {
      assert.equal(list.matches(hit), true, hit);
    }
    for (const miss of [
      "203.0.113.8",
      "11.0.0.1",
      "192.168.8.0",
      "2001:db9::1",
      "fe80::2",
      "198.51.101.1",
    ]) {
      assert.equal(list.matches(miss), false, miss);
    }
  });

  it("matches an IPv4-mapped IPv6 address however it is spelled, and strips a zone", () => {
    for (const spelling of ["::ffff:10.1.2.3", "::FFFF:0a01:0203", "0:0:0:0:0:ffff:a01:203"]) {
      assert.equal(list.matches(spelling), true, spelling);
    }
    assert.equal(list.matches("fe80::1%eth0"), true);
  });

  it("matches nothing for what is no address: odd, oversized or hostile text", () => {
    for (const odd of [
      "",
      "10",
      "10.0.0",
      "10.0.0.1.5",
      "010.0.0.1",
      "10.0.0.256",
      " 10.0.0.1",
      "10.0.0.1/8",
      "::ffff:10.0.0.1x",
      "2001:db8::1::2",
      `${"1".repeat(100_000)}`,
      `10.${"0".repeat(10_000)}.0.1`,
      `2001:db8:${":".repeat(5_000)}`,
    ]) {
      assert.equal(list.matches(odd), false, odd.slice(0, 40));
    }
    assert.equal(list.matches(undefined as unknown as string), false);
  });

  it("answers as a linear scan of the ranges would, on random addresses (property)", () => {
    const ranges: [number, number][] = [
      [0x0a000000, 8],
      [0xc0a80400, 22],
      [0xcb007107, 32],
    ];
    const naive = (a: number) =>
      ranges.some(([net, bits]) => bits === 0 || a >>> (32 - bits) === net >>> (32 - bits));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (value) => {
        const text = [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
        const expected = naive(value) || value >>> 8 === 0xc6336400 >>> 8;
        assert.equal(list.matches(text), expected, text);
      }),
    );
  });

  it("a /0 matches every address of its family", () => {
    const all4 = compileAddressList(["0.0.0.0/0"], "t");
    const all6 = compileAddressList(["::/0"], "t");
    assert.equal(all4.matches("255.1.2.3"), true);
    assert.equal(all4.matches("2001:db8::1"), false);
    assert.equal(all6.matches("2001:db8::1"), true);
  });

  it("rejects a bad entry with a ConfigurationError naming it", () => {
    for (const bad of [
      "10.0.0.0/33",
      "2001:db8::/129",
      "example.com",
      "10.0.0.1/",
      "10.0.0.0/-1",
      "1.2.3.4/8/9",
      "fe80::1%eth0",
      "",
    ]) {
      assert.throws(
        () => compileAddressList(["10.0.0.1", bad], 'Throttle "t": denyList'),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.message.includes(JSON.stringify(bad)) &&
          error.message.startsWith('Throttle "t": denyList'),
        bad,
      );
    }
    assert.throws(
      () => compileAddressList("10.0.0.1" as unknown as string[], "t"),
      ConfigurationError,
    );
    assert.throws(() => compileAddressList([42 as unknown as string], "t"), /42/);
  });
});
