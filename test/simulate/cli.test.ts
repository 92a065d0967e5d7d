/** `traffik simulate` end to end: the real command, spawned with tsx, writing real files. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { xmlProblem } from "./well-formed.js";

const root = join(import.meta.dirname, "..", "..");
const cli = join(root, "src", "simulate", "cli.ts");
const dir = mkdtempSync(join(tmpdir(), "traffik-simulate-"));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `traffik ...args` to its end. */
async function traffik(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", cli, ...args],
      { cwd: root, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: unknown; stdout: string; stderr: string };
    if (typeof code !== "number") throw error;
    return { code, stdout, stderr };
  }
}

describe("traffik simulate, run as a command", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a well-formed SVG for one strategy, the same bytes every time", async () => {
    const out = join(dir, "nested", "gcra.svg");
    const args = ["simulate", "--strategy", "gcra", "--rate", "10/s", "--traffic", "burst"];
    const first = await traffik(...args, "--out", out);
    assert.equal(first.code, 0, first.stderr);
    const svg = readFileSync(out, "utf8");
    assert.equal(xmlProblem(svg), undefined);
    assert.match(svg, /<title>GCRA at 10\/1s: burst 20\/1s<\/title>/);
    assert.match(first.stderr, /^wrote .*gcra\.svg\nGCRA: 200 offered, \d+ admitted/);
    assert.equal(first.stdout, "");
    const again = await traffik(...args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, svg, "the SVG on standard output differs from the file");
  });

  it("writes an HTML page with several strategies side by side, and their options", async () => {
    const html = join(dir, "page.html");
    const run = await traffik(
      "simulate",
      "--strategy=token-bucket",
      "--strategy",
      "leaky-bucket-with-queue",
      "--strategy",
      "sliding-window-log",
      "--burst",
      "4",
      "--queue-size",
      "3",
      "--traffic",
      "ramp",
      "--offered",
      "40/s",
      "--duration",
      "5s",
      "--html",
      html,
    );
    assert.equal(run.code, 0, run.stderr);
    const page = readFileSync(html, "utf8");
    const titles = [...page.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]);
    assert.deepEqual(titles, [
      "10/1s under ramp 40/1s: 3 strategies",
      "Token bucket (burst 4) at 10/1s: ramp 40/1s",
      "Leaky bucket with queue (queue 3) at 10/1s: ramp 40/1s",
      "Sliding window log at 10/1s: ramp 40/1s",
    ]);
    for (const svg of page.match(/<svg[\s\S]*?<\/svg>/g) ?? []) {
      assert.equal(xmlProblem(svg), undefined);
    }
    assert.equal(run.stderr.split("\n").filter((line) => / offered, /.test(line)).length, 3);
  });

  it("replays a recorded log", async () => {
    const log = join(dir, "times.log");
    // At 2/s, the window from 1000 admits two; the one from 2000 admits the last.
    writeFileSync(log, "# ms\n1000\n1000\n1001\n1500\n2600\n");
    const run = await traffik("simulate", "--log", log, "--rate", "2/s");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Fixed window: 5 offered, 3 admitted \(0 after a delay\), 2 rejected/);
    assert.equal(xmlProblem(run.stdout), undefined);
  });

  it("prints its usage for --help, and exits 0", async () => {
    for (const args of [["--help"], ["simulate", "-h"]]) {
      const run = await traffik(...args);
      assert.equal(run.code, 0);
      assert.match(run.stdout, /^Usage: traffik simulate \[options\]/);
      assert.match(run.stdout, /--queue-size N/);
    }
  });

  for (const [args, says] of [
    [
      ["simulate", "--strategy", "gcra", "--qeue-size", "3"],
      /unknown option "--qeue-size"; did you mean "--queue-size"\?/,
    ],
    [
      ["simulate", "--strategy", "gcra", "--queue-size", "3"],
      /--queue-size does not apply to gcra/,
    ],
    [
      ["simulate", "--strategy", "gcrb"],
      /--strategy: unknown strategy "gcrb"; choose one of fixed-window, /,
    ],
    [["simulate", "--rate", "10/x"], /--rate: Invalid rate "10\/x": unknown unit "x"/],
    [["simulate", "--rate"], /--rate needs a value/],
    [["simulate", "--out="], /--out needs a value/],
    [["simulate", "--rate", "5/s", "--rate", "6/s"], /--rate is given twice/],
    [
      ["simulate", "--traffic", "wave"],
      /--traffic: unknown pattern "wave"; choose one of steady, burst, ramp/,
    ],
    [["simulate", "--duration", "soon"], /--duration: "soon" is not a duration/],
    [["simulate", "--cost", "1.5"], /--cost: "1.5" is not a whole number/],
    [
      ["simulate", "--strategy", "gcra", "--burst", "0"],
      /GCRAStrategy: `burst` must be a whole number of at least 1/,
    ],
    [
      ["simulate", "--strategy", "gcra", "--strategy", "fixed-window", "--out", "x.svg"],
      /--out draws one strategy; .* use --html/,
    ],
    [["simulate", "--log", "x.log", "--offered", "5/s"], /--offered shapes generated traffic/],
    [["simulate", "--log", join(dir, "missing.log")], /--log: cannot read .*missing\.log/],
    [["simulate", "gcra"], /Unexpected argument "gcra"/],
    [["simulat"], /Unknown command "simulat"; the command is "simulate"/],
    [[], /No command given/],
  ] as const) {
    it(`exits 2 with a clear message: traffik ${args.join(" ")}`, async () => {
      const run = await traffik(...args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^traffik: /);
      assert.match(run.stderr, says);
      assert.equal(run.stdout, "");
    });
  }

  it("exits 2 naming the file and line of a bad log entry", async () => {
    const log = join(dir, "bad.log");
    writeFileSync(log, "100\n200\n2O0\n");
    const run = await traffik("simulate", "--log", log);
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `traffik: ${log}:3: "2O0" is not a time in ms (a number of at least 0).\n`,
    );
  });
});
