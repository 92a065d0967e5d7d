import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rate } from "../../src/rate.js";
import { parseDuration } from "../../src/simulate/duration.js";
import { generateTraffic, MAX_ARRIVALS } from "../../src/simulate/traffic.js";
import { parseTrafficLog } from "../../src/simulate/traffic-log.js";
import { UsageError } from "../../src/simulate/usage-error.js";

const gaps = (arrivals: readonly number[]): number[] =>
  arrivals.slice(1).map((at, i) => at - (arrivals[i] as number));

describe("generated traffic", () => {
  it("steady: evenly spaced at the offered rate, from the start to the end", () => {
    const traffic = generateTraffic("steady", {
      offered: Rate.parse("20/s"),
      durationMs: 10_000,
      startMs: 0,
    });
    assert.equal(traffic.arrivals.length, 200);
    assert.deepEqual(new Set(gaps(traffic.arrivals)), new Set([50]));
    assert.deepEqual([traffic.fromMs, traffic.toMs, traffic.label], [0, 10_000, "steady 20/1s"]);
  });

  it("steady at a rate whose interval is not whole: no drift over the span", () => {
    const { arrivals } = generateTraffic("steady", {
      offered: Rate.parse("3/s"),
      durationMs: 60_000,
      startMs: 0,
    });
    assert.equal(arrivals.length, 180);
    assert.equal(arrivals.at(-1), Math.floor((179 * 1000) / 3));
  });

  it("burst: the offered count packed into the first tenth of each window, from --start", () => {
    const traffic = generateTraffic("burst", {
      offered: Rate.parse("25/2s"),
      durationMs: 6_000,
      startMs: 900,
    });
    assert.equal(traffic.arrivals.length, 75);
    for (const [k, from] of [900, 2_900, 4_900].entries()) {
      const burst = traffic.arrivals.slice(k * 25, k * 25 + 25);
      assert.equal(burst[0], from);
      assert.ok((burst.at(-1) as number) < from + 200);
    }
    assert.equal(traffic.label, "burst 25/2s from 900ms");
  });

  it("ramp: from a trickle to the offered rate at the end", () => {
    const { arrivals } = generateTraffic("ramp", {
      offered: Rate.parse("100/s"),
      durationMs: 10_000,
      startMs: 0,
    });
    // The mean rate is half the peak.
    assert.ok(Math.abs(arrivals.length - 500) <= 1, `${arrivals.length} arrivals`);
    const firstSecond = arrivals.filter((at) => at < 1_000).length;
    const lastSecond = arrivals.filter((at) => at >= 9_000).length;
    assert.ok(firstSecond <= 6 && lastSecond >= 90, `${firstSecond} then ${lastSecond}`);
    assert.ok(arrivals.every((at, i) => i === 0 || at >= (arrivals[i - 1] as number)));
  });

  it("refuses more arrivals than a picture can hold, saying what to change", () => {
    assert.throws(
      () =>
        generateTraffic("steady", {
          offered: Rate.parse("1000/s"),
          durationMs: (MAX_ARRIVALS / 1000 + 1) * 1000,
          startMs: 0,
        }),
      (error) => error instanceof UsageError && /--duration/.test(error.message),
    );
  });

  it("reads durations with units, and names the flag of a bad one", () => {
    assert.deepEqual(
      ["10s", "250ms", "1.5s", "2m", "1h", "40"].map((text) => parseDuration(text, "--x")),
      [10_000, 250, 1_500, 120_000, 3_600_000, 40],
    );
    for (const bad of ["", "s", "-1s", "10 parsecs", "1e3"]) {
      assert.throws(
        () => parseDuration(bad, "--duration"),
        (error) => error instanceof UsageError && error.message.startsWith("--duration:"),
      );
    }
  });
});

describe("a recorded traffic log", () => {
  it("keeps its times, skipping blank lines and # comments; the picture starts at the first", () => {
    const traffic = parseTrafficLog(
      "# recorded\n1700000000000\n1700000000100\n\n1700000000100.7\r\n",
      "t.log",
    );
    assert.deepEqual(traffic.arrivals, [1_700_000_000_000, 1_700_000_000_100, 1_700_000_000_100]);
    assert.equal(traffic.fromMs, 1_700_000_000_000);
    assert.ok(traffic.toMs > 1_700_000_000_100);
    assert.equal(traffic.label, "log t.log");
  });

  for (const [text, line, says] of [
    ["0\n10\nten\n", 3, '"ten" is not a time in ms'],
    ["0\n-5\n", 2, '"-5" is not a time in ms'],
    ["0\n10 20\n", 2, '"10 20" is not a time in ms'],
    ["0\n1e3\n", 2, '"1e3" is not a time in ms'],
    ["0\n\n# gap\n100\n50\n", 5, "50 comes before the line above (100)"],
    ["0\n100.7\n100.2\n", 3, "100.2 comes before the line above (100.7)"],
  ] as const) {
    it(`names the line of a bad entry: ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseTrafficLog(text, "t.log"),
        (error) =>
          error instanceof UsageError && error.message.startsWith(`t.log:${line}: ${says}`),
      );
    });
  }

  it("refuses a log with no times", () => {
    assert.throws(() => parseTrafficLog("# nothing\n\n", "t.log"), /t.log: no arrival times/);
  });
});
