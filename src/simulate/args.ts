import { rejectUnknownOptions } from "../internal/known-keys.js";
import { Rate } from "../rate.js";
import { flagsOf, type StrategyFlags, type StrategyName, strategyName } from "./catalog.js";
import { parseDuration } from "./duration.js";
import { PATTERNS, type PatternName } from "./traffic.js";
import { UsageError } from "./usage-error.js";

/** A `traffik simulate` command line, read and checked. */
export interface SimulateArgs {
  /** The strategies to draw, at least one. */
  readonly strategies: readonly StrategyName[];
  readonly rate: Rate;
  /** Where the requests come from: a generated pattern, or a log file's path. */
  readonly traffic:
    | {
        readonly pattern: PatternName;
        readonly offered: Rate;
        readonly durationMs: number;
        readonly startMs: number;
      }
    | { readonly log: string };
  readonly cost: number;
  readonly flags: StrategyFlags;
  /** The SVG file to write (one strategy). */
  readonly out: string | undefined;
  /** The HTML page to write. */
  readonly html: string | undefined;
}

/** Every option and whether it may be given more than once. */
const OPTIONS = {
  "--strategy": { repeats: true },
  "--rate": { repeats: false },
  "--traffic": { repeats: false },
  "--offered": { repeats: false },
  "--duration": { repeats: false },
  "--start": { repeats: false },
  "--log": { repeats: false },
  "--cost": { repeats: false },
  "--burst": { repeats: false },
  "--max-debt": { repeats: false },
  "--capacity": { repeats: false },
  "--queue-size": { repeats: false },
  "--out": { repeats: false },
  "--html": { repeats: false },
} as const;

type Option = keyof typeof OPTIONS;

/** The option names, as the library's check of unknown keys takes them. */
const KNOWN: Readonly<Record<string, true>> = Object.fromEntries(
  Object.keys(OPTIONS).map((name) => [name, true]),
);

/** The strategy options and the flag that sets each. */
const STRATEGY_FLAGS: Readonly<Record<keyof StrategyFlags, Option>> = {
  burst: "--burst",
  maxDebt: "--max-debt",
  capacity: "--capacity",
  queueSize: "--queue-size",
};

/** Options that shape generated traffic, which a log's own times replace. */
const PATTERN_OPTIONS = ["--traffic", "--offered", "--duration", "--start"] as const;

/**
 * Reads the options after `simulate`: `--name value` or `--name=value`, each known and each
 * valid. Defaults: `--strategy fixed-window`, `--rate 10/s`, `--traffic steady`, `--offered`
 * twice `--rate`, `--duration` ten of its windows, `--start 0`, `--cost 1`.
 *
 * @throws {UsageError} naming the option, for an unknown option (with the nearest known one),
 *   a missing or bad value, an option given twice, or options that do not go together.
 */
export function parseSimulateArgs(argv: readonly string[]): SimulateArgs {
  const given = readOptions(argv);
  const one = (name: Option): string | undefined => given.get(name)?.[0];
  const strategies = (given.get("--strategy") ?? ["fixed-window"]).map(strategyName);
  const rate = rateOption("--rate", one("--rate") ?? "10/s");

  const flags: { -readonly [K in keyof StrategyFlags]: number } = {};
  for (const [key, option] of Object.entries(STRATEGY_FLAGS) as [keyof StrategyFlags, Option][]) {
    const text = one(option);
    if (text === undefined) continue;
    if (!strategies.some((name) => flagsOf(name).includes(key))) {
      throw new UsageError(
        `${option} does not apply to ${strategies.join(", ")}; see --help for which strategy reads it.`,
      );
    }
    flags[key] = wholeNumber(option, text);
  }

  const log = one("--log");
  let traffic: SimulateArgs["traffic"];
  if (log !== undefined) {
    const extra = PATTERN_OPTIONS.find((name) => given.has(name));
    if (extra !== undefined) {
      throw new UsageError(`${extra} shapes generated traffic; a --log brings its own times.`);
    }
    traffic = { log };
  } else {
    const pattern = one("--traffic") ?? "steady";
    if (!(PATTERNS as readonly string[]).includes(pattern)) {
      throw new UsageError(
        `--traffic: unknown pattern ${JSON.stringify(pattern)}; choose one of ${PATTERNS.join(", ")}, or give --log FILE.`,
      );
    }
    const offeredText = one("--offered");
    const offered =
      offeredText === undefined
        ? new Rate({ limit: rate.limit * 2, milliseconds: rate.windowMs })
        : rateOption("--offered", offeredText);
    const duration = one("--duration");
    const durationMs =
      duration === undefined ? 10 * rate.windowMs : parseDuration(duration, "--duration");
    if (durationMs < 1) throw new UsageError("--duration: must be at least 1 ms.");
    const start = one("--start");
    const startMs = start === undefined ? 0 : parseDuration(start, "--start");
    if (startMs >= durationMs) {
      throw new UsageError(`--start: ${start} is not before the end of --duration.`);
    }
    traffic = { pattern: pattern as PatternName, offered, durationMs, startMs };
  }

  const cost = one("--cost");
  const out = one("--out");
  if (out !== undefined && strategies.length > 1) {
    throw new UsageError("--out draws one strategy; to draw several side by side, use --html.");
  }
  return {
    strategies,
    rate,
    traffic,
    cost: cost === undefined ? 1 : wholeNumber("--cost", cost),
    flags,
    out,
    html: one("--html"),
  };
}

/** Each option given and its values, in order. */
function readOptions(argv: readonly string[]): Map<Option, string[]> {
  const given = new Map<Option, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) {
      throw new UsageError(`Unexpected argument ${JSON.stringify(arg)}; options start with --.`);
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg : arg.slice(0, equals);
    // The same check, and the same "did you mean", as every options object of the library.
    rejectUnknownOptions<Record<string, true>>("simulate", { [name]: true }, KNOWN);
    const option = name as Option;
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (value === undefined || value === "" || value.startsWith("--")) {
      throw new UsageError(`${option} needs a value; see --help.`);
    }
    const values = given.get(option) ?? [];
    if (values.length > 0 && !OPTIONS[option].repeats) {
      throw new UsageError(`${option} is given twice; give it once.`);
    }
    values.push(value);
    given.set(option, values);
  }
  return given;
}

function rateOption(option: Option, text: string): Rate {
  try {
    return Rate.parse(text);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
}

function wholeNumber(option: Option, text: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${option}: ${JSON.stringify(text)} is not a whole number.`);
  }
  return value;
}
