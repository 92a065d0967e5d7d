import { parseSimulateArgs, type SimulateArgs } from "./args.js";
import { createStrategy } from "./catalog.js";
import { renderHtml } from "./html.js";
import { simulate, tally } from "./run.js";
import { type Chart, renderSvg } from "./svg.js";
import { generateTraffic, type Traffic } from "./traffic.js";
import { parseTrafficLog } from "./traffic-log.js";
import { USAGE } from "./usage.js";
import { UsageError } from "./usage-error.js";

/** What a command produces: files to write, text for standard output, notes for the user. */
export interface CommandResult {
  /** Each file to write, by the path given on the command line. */
  readonly files: readonly { readonly path: string; readonly content: string }[];
  /** Text for standard output: the help, or a picture that has no file to go to. */
  readonly stdout: string;
  /** One line per strategy drawn, for standard error. */
  readonly notes: readonly string[];
}

/**
 * Runs `traffik <argv>` without touching the file system except to read a `--log` (through
 * `readText`): the CLI writes what it returns, the picture script and the tests compare it.
 *
 * @throws {UsageError} (or the `ConfigurationError` of a strategy option) for a command line
 *   that cannot run.
 */
export function runCommand(
  argv: readonly string[],
  readText: (path: string) => string,
): CommandResult {
  const [command, ...rest] = argv;
  if (command === "--help" || command === "-h" || rest.includes("--help") || rest.includes("-h")) {
    return { files: [], stdout: USAGE, notes: [] };
  }
  if (command !== "simulate") {
    const what =
      command === undefined ? "No command given" : `Unknown command ${JSON.stringify(command)}`;
    throw new UsageError(`${what}; the command is "simulate" (traffik simulate --help).`);
  }
  const args = parseSimulateArgs(rest);
  const traffic = loadTraffic(args, readText);
  const charts = args.strategies.map((name): Chart => {
    const { title, strategy } = createStrategy(name, args.flags);
    return {
      title,
      traffic,
      simulation: simulate(strategy, args.rate, traffic.arrivals, args.cost),
    };
  });
  const files: { path: string; content: string }[] = [];
  if (args.out !== undefined)
    files.push({ path: args.out, content: renderSvg(charts[0] as Chart) });
  const page = (): string => renderHtml(charts, `traffik ${argv.join(" ")}`);
  if (args.html !== undefined) files.push({ path: args.html, content: page() });
  const stdout =
    files.length > 0 ? "" : charts.length === 1 ? renderSvg(charts[0] as Chart) : page();
  const notes = charts.map(({ title, simulation }) => {
    const { admitted, queued, rejected } = tally(simulation);
    return `${title}: ${simulation.requests.length} offered, ${admitted + queued} admitted (${queued} after a delay), ${rejected} rejected`;
  });
  return { files, stdout, notes };
}

function loadTraffic(args: SimulateArgs, readText: (path: string) => string): Traffic {
  if ("pattern" in args.traffic) return generateTraffic(args.traffic.pattern, args.traffic);
  const { log } = args.traffic;
  let text: string;
  try {
    text = readText(log);
  } catch (error) {
    throw new UsageError(`--log: cannot read ${log}: ${(error as Error).message}`);
  }
  return parseTrafficLog(text, log);
}
