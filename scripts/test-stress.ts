/**
 * `npm run test:stress`: the whole suite (`npm run test:suite`), three times in a row, while
 * two CPU-bound processes compete for the cores, as on a busy CI machine or laptop. Prints each
 * run's pass/fail counts and duration, and exits non-zero unless all three runs pass. The CPU
 * hogs are killed however this ends. Each run's full output is kept in a log file, named on
 * failure.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RUNS = 3;
const HOGS = 2;
/** Far beyond a run's time under load; only a runner that hangs despite the watchdog meets it. */
const RUN_TIMEOUT_MS = 15 * 60_000;

const hogs: ChildProcess[] = [];
const killHogs = (): void => {
  for (const hog of hogs) hog.kill("SIGKILL");
};
process.on("exit", killHogs);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killHogs();
    process.exit(1);
  });
}

interface RunResult {
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
}

/** Runs the suite once, in a process group of its own so that a timeout ends all of it. */
function runSuite(): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const suite = spawn("npm", ["run", "--silent", "test:suite"], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    suite.stdout.on("data", (chunk) => (output += chunk));
    suite.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n(stress: the run passed ${RUN_TIMEOUT_MS / 60_000} minutes and was killed)\n`;
      if (suite.pid !== undefined) process.kill(-suite.pid, "SIGKILL");
    }, RUN_TIMEOUT_MS);
    suite.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** The spec reporter's closing count for `label` ("pass", "fail", ...), if it got that far. */
const count = (output: string, label: string): string =>
  output.match(new RegExp(`^ℹ ${label} (\\d+)$`, "m"))?.[1] ?? "?";

for (let i = 0; i < HOGS; i++) {
  hogs.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
}
console.log(`test:stress: ${RUNS} runs of the whole suite beside ${HOGS} CPU-bound processes`);

const logs = mkdtempSync(join(tmpdir(), "traffik-stress-"));
let passed = 0;
for (let run = 1; run <= RUNS; run++) {
  const { code, output, seconds } = await runSuite();
  const log = join(logs, `run-${run}.log`);
  writeFileSync(log, output);
  const ok = code === 0 && count(output, "fail") === "0";
  if (ok) passed++;
  console.log(
    `run ${run}/${RUNS}: ${ok ? "PASS" : "FAIL"}  tests ${count(output, "tests")}, pass ${count(output, "pass")}, fail ${count(output, "fail")}, cancelled ${count(output, "cancelled")}, skipped ${count(output, "skipped")}  in ${seconds.toFixed(1)} s (exit ${code})${ok ? "" : `  log: ${log}`}`,
  );
  if (!ok) {
    const failures = output.indexOf("✖ failing tests:");
    console.log(failures >= 0 ? output.slice(failures) : output.slice(-4000));
  }
}
killHogs();
console.log(`test:stress: ${passed} of ${RUNS} runs passed`);
process.exitCode = passed === RUNS ? 0 : 1;
