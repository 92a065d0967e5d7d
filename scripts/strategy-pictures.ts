/**
 * The pictures of the README's strategy table: every built-in strategy at 10/s under the same
 * bursts, each made by the `traffik simulate` command line listed here. `npm run pictures`
 * writes them to docs/strategies/; test/simulate/pictures.test.ts fails when the committed
 * files differ from what the command makes now.
 */
import { readFileSync } from "node:fs";
import { STRATEGY_NAMES } from "../src/simulate/catalog.js";
import { runCommand } from "../src/simulate/command.js";

/** The traffic every picture replays: bursts of 25 every 2 s, astride a window's end. */
export const PICTURE_TRAFFIC = [
  "--rate",
  "10/s",
  "--traffic",
  "burst",
  "--offered",
  "25/2s",
  "--start",
  "900ms",
  "--duration",
  "6s",
] as const;

/** The command line (after `traffik`) that draws `strategy`'s picture. */
export function pictureCommand(strategy: string): string[] {
  return [
    "simulate",
    "--strategy",
    strategy,
    ...PICTURE_TRAFFIC,
    "--out",
    `docs/strategies/${strategy}.svg`,
  ];
}

/** Every picture, as the command makes it now: its path from the repository's root, its SVG. */
export function strategyPictures(): { path: string; content: string }[] {
  return STRATEGY_NAMES.flatMap(
    (name) => runCommand(pictureCommand(name), (path) => readFileSync(path, "utf8")).files,
  );
}
