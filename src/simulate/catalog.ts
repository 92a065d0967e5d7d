import {
  FixedWindowStrategy,
  GCRAStrategy,
  LeakyBucketStrategy,
  LeakyBucketWithQueueStrategy,
  SlidingWindowCounterStrategy,
  SlidingWindowLogStrategy,
  TokenBucketStrategy,
  TokenBucketWithDebtStrategy,
} from "../strategies/index.js";
import type { Strategy } from "../strategies/strategy.js";
import { UsageError } from "./usage-error.js";

/** The options a strategy takes on the command line, as whole numbers. */
export interface StrategyFlags {
  /** `--burst`: the token buckets' `burstSize`, GCRA's `burst`. */
  readonly burst?: number | undefined;
  /** `--max-debt`: the token bucket with debt's `maxDebt`. */
  readonly maxDebt?: number | undefined;
  /** `--capacity`: the metering leaky bucket's `capacity`. */
  readonly capacity?: number | undefined;
  /** `--queue-size`: the queueing leaky bucket's `queueSize`. */
  readonly queueSize?: number | undefined;
}

interface Entry {
  /** How the strategy is named in titles. */
  readonly title: string;
  /** The flags it reads. */
  readonly flags: readonly (keyof StrategyFlags)[];
  /** The real strategy, built with the flags given. */
  readonly create: (flags: StrategyFlags) => Strategy;
}

/** Every built-in strategy by its command-line name. */
const CATALOG = {
  "fixed-window": {
    title: "Fixed window",
    flags: [],
    create: () => new FixedWindowStrategy(),
  },
  "sliding-window-log": {
    title: "Sliding window log",
    flags: [],
    create: () => new SlidingWindowLogStrategy(),
  },
  "sliding-window-counter": {
    title: "Sliding window counter",
    flags: [],
    create: () => new SlidingWindowCounterStrategy(),
  },
  "token-bucket": {
    title: "Token bucket",
    flags: ["burst"],
    create: ({ burst }) => new TokenBucketStrategy({ burstSize: burst }),
  },
  "token-bucket-with-debt": {
    title: "Token bucket with debt",
    flags: ["burst", "maxDebt"],
    create: ({ burst, maxDebt }) => new TokenBucketWithDebtStrategy({ burstSize: burst, maxDebt }),
  },
  "leaky-bucket": {
    title: "Leaky bucket",
    flags: ["capacity"],
    create: ({ capacity }) => new LeakyBucketStrategy({ capacity }),
  },
  "leaky-bucket-with-queue": {
    title: "Leaky bucket with queue",
    flags: ["queueSize"],
    create: ({ queueSize }) => new LeakyBucketWithQueueStrategy({ queueSize }),
  },
  gcra: {
    title: "GCRA",
    flags: ["burst"],
    create: ({ burst }) => new GCRAStrategy({ burst }),
  },
} as const satisfies Record<string, Entry>;

/** A built-in strategy's command-line name. */
export type StrategyName = keyof typeof CATALOG;

/** Every command-line strategy name, in the order the README shows them. */
export const STRATEGY_NAMES = Object.keys(CATALOG) as StrategyName[];

/** A strategy chosen on the command line, built. */
export interface ChosenStrategy {
  readonly name: StrategyName;
  /** For titles: "GCRA (burst 5)". */
  readonly title: string;
  readonly strategy: Strategy;
}

/** Whether `name` is a built-in strategy's command-line name. */
export function isStrategyName(name: string): name is StrategyName {
  return Object.hasOwn(CATALOG, name);
}

/** The flags `name` reads. */
export function flagsOf(name: StrategyName): readonly (keyof StrategyFlags)[] {
  return (CATALOG[name] as Entry).flags;
}

/**
 * Builds the real strategy `name` with the flags it reads (the others are left to the other
 * strategies of the same command). Bad option values fail as the strategy's own
 * `ConfigurationError`.
 */
export function createStrategy(name: StrategyName, flags: StrategyFlags): ChosenStrategy {
  const entry: Entry = CATALOG[name];
  const options = entry.flags
    .filter((flag) => flags[flag] !== undefined)
    .map((flag) => `${FLAG_TITLES[flag]} ${flags[flag]}`);
  const title = options.length === 0 ? entry.title : `${entry.title} (${options.join(", ")})`;
  return { name, title, strategy: entry.create(flags) };
}

const FLAG_TITLES: Readonly<Record<keyof StrategyFlags, string>> = {
  burst: "burst",
  maxDebt: "max debt",
  capacity: "capacity",
  queueSize: "queue",
};

/** @throws {UsageError} for a name that is not a built-in strategy's. */
export function strategyName(text: string): StrategyName {
  if (isStrategyName(text)) return text;
  throw new UsageError(
    `--strategy: unknown strategy ${JSON.stringify(text)}; choose one of ${STRATEGY_NAMES.join(", ")}.`,
  );
}
