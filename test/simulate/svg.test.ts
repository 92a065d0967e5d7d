import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rate } from "../../src/rate.js";
import { createStrategy } from "../../src/simulate/catalog.js";
import { renderHtml } from "../../src/simulate/html.js";
import { simulate } from "../../src/simulate/run.js";
import { type Chart, renderSvg } from "../../src/simulate/svg.js";
import { generateTraffic, type Traffic } from "../../src/simulate/traffic.js";
import { parseTrafficLog } from "../../src/simulate/traffic-log.js";
import { xmlProblem } from "./well-formed.js";

const rate = Rate.parse("10/s");
const bursts = generateTraffic("burst", {
  offered: Rate.parse("25/2s"),
  durationMs: 6_000,
  startMs: 900,
});

function chart(name: Parameters<typeof createStrategy>[0], traffic: Traffic = bursts): Chart {
  const { title, strategy } = createStrategy(name, {});
  return { title, traffic, simulation: simulate(strategy, rate, traffic.arrivals) };
}

describe("the SVG picture", () => {
  it("is one well-formed SVG element, titled with the strategy, the rate and the traffic", () => {
    const svg = renderSvg(chart("gcra"));
    assert.equal(xmlProblem(svg), undefined);
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
    assert.match(svg, /<title>GCRA at 10\/1s: burst 25\/2s from 900ms<\/title>/);
    assert.match(svg, />GCRA at 10\/1s<\/text>/);
    assert.match(svg, /75 offered, 33 admitted \(0 after a delay\), 42 rejected/);
  });

  it("shows every series with a legend, and the waits told", () => {
    const svg = renderSvg(chart("leaky-bucket-with-queue"));
    for (const series of ["offered", "admitted", "queued", "rejected"]) {
      assert.match(svg, new RegExp(`<path class="line ${series}" d="M`));
    }
    for (const label of ["pace of 10/1s", "of which after a delay", "(retryAfterMs)"]) {
      assert.ok(svg.includes(label), label);
    }
    // Rejected clients' waits as crosses, queued requests' delays as diamonds.
    assert.match(svg, /<path class="cross" d="(M[\d.]+ [\d.]+l6 6m0 -6l-6 6){2,}"/);
    assert.match(
      svg,
      /<path class="diamond" d="(M[\d.]+ [\d.]+l3\.5 3\.5l-3\.5 3\.5l-3\.5 -3\.5z){2,}"/,
    );
  });

  it("says so when no client was told to wait", () => {
    const calm = generateTraffic("steady", {
      offered: Rate.parse("5/s"),
      durationMs: 5_000,
      startMs: 0,
    });
    const svg = renderSvg(chart("fixed-window", calm));
    assert.ok(svg.includes("no client was told to wait"));
    // The legend's cross only.
    assert.equal(svg.split('class="cross"').length - 1, 1);
  });

  it("carries its own colours for light and dark themes, on its own background", () => {
    const svg = renderSvg(chart("token-bucket"));
    assert.match(svg, /<style>[^<]*@media \(prefers-color-scheme:dark\)\{[^<]*\.bg\{fill:#0d1117/);
    assert.match(svg, /<rect class="bg" /);
  });

  it("is the same bytes for the same input, and escapes what it quotes", () => {
    assert.equal(renderSvg(chart("sliding-window-log")), renderSvg(chart("sliding-window-log")));
    const log = parseTrafficLog("0\n10\n20\n", 'a&b<"c">.log');
    const svg = renderSvg(chart("fixed-window", log));
    assert.equal(xmlProblem(svg), undefined);
    assert.ok(svg.includes("log a&amp;b&lt;&quot;c&quot;&gt;.log"));
  });

  it("draws a log's time axis from its first arrival, whatever its clock", () => {
    const log = parseTrafficLog("1700000000950\n1700000001000\n1700000003000\n", "t.log");
    const svg = renderSvg(chart("fixed-window", log));
    assert.equal(xmlProblem(svg), undefined);
    assert.ok(svg.includes("time since the start, s"));
    assert.match(svg, /text-anchor="middle">0<\/text>/);
  });
});

describe("the HTML page", () => {
  it("shows each strategy's picture side by side, under the command that made them", () => {
    const charts = [chart("fixed-window"), chart("token-bucket"), chart("gcra")];
    const html = renderHtml(charts, "traffik simulate --strategy fixed-window <&>");
    assert.match(html, /^<!doctype html>\n<html lang="en">/);
    assert.ok(html.includes("<code>traffik simulate --strategy fixed-window &lt;&amp;&gt;</code>"));
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    assert.equal(svgs.length, 3);
    for (const svg of svgs) assert.equal(xmlProblem(svg), undefined);
    assert.deepEqual(
      svgs.map((svg) => /<title>([^<]*)<\/title>/.exec(svg)?.[1]),
      ["Fixed window", "Token bucket", "GCRA"].map(
        (name) => `${name} at 10/1s: burst 25/2s from 900ms`,
      ),
    );
    assert.equal(html, renderHtml(charts, "traffik simulate --strategy fixed-window <&>"));
  });
});

describe("the well-formedness check itself", () => {
  it("finds the faults it looks for", () => {
    assert.equal(xmlProblem('<svg a="1"><g/><text>x &amp; y</text></svg>'), undefined);
    for (const bad of [
      "<svg><g></svg>",
      "<svg>a & b</svg>",
      '<svg a="1" a="2"/>',
      "<svg a=1/>",
      "<svg/><svg/>",
      '<svg><text x="<">t</text></svg>',
      "<svg>",
    ]) {
      assert.notEqual(xmlProblem(bad), undefined, bad);
    }
  });
});
