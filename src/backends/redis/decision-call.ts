import type { DecisionMode } from "../types.js";
import type { Entry } from "./batcher.js";
import { decideScript } from "./lua/decide.js";
import { type Script, script } from "./script.js";

/** A request, or an all-or-nothing group, for the decision script: a packed argument per request. */
export interface DecideEntry extends Entry {
  /** The strategy code of each request's mirror. */
  readonly codes: readonly string[];
  /** "code,cost,limit,window,option,option" per request (see `mirrors.ts`). */
  readonly args: readonly string[];
  /** Past this time on the server's clock the script must not write for this entry. */
  readonly deadline: number;
}

/** One call of the decision script: which script, its keys and its arguments. */
export interface DecisionCall {
  readonly script: Script;
  readonly keys: string[];
  readonly args: string[];
}

/**
 * The one decision script call for `entries`, each its own all-or-nothing group: a lone
 * request is a batch of one. `clock` is a test clock's time, or "" for the server's.
 */
export function decisionCall(
  mode: DecisionMode,
  clock: string,
  entries: readonly DecideEntry[],
): DecisionCall {
  const keys: string[] = [];
  const codes: string[] = [];
  const args = [modeArg(mode, earliestDeadline(entries)), clock];
  for (const entry of entries) {
    keys.push(...entry.keys);
    codes.push(...entry.codes);
    // "1," begins a group (an entry), "0," continues it.
    for (let i = 0; i < entry.args.length; i++) args.push(`${i === 0 ? 1 : 0},${entry.args[i]}`);
  }
  return { script: scriptFor(codes), keys, args };
}

const scripts = new Map<string, Script>();

/**
 * The decision script for requests using the strategies `codes`, built once per set of them:
 * only their mirrors are in it, since a script defines all its functions again at every call.
 */
function scriptFor(codes: readonly string[]): Script {
  // One strategy is the common case: its code names the script without sorting a set.
  const first = codes[0] as string;
  const name = codes.every((code) => code === first) ? first : [...new Set(codes)].sort().join(",");
  let found = scripts.get(name);
  if (found === undefined) {
    found = script(decideScript(codes));
    scripts.set(name, found);
  }
  return found;
}

/**
 * The mode argument of the decision script: "p" to peek, else "c:" and the call's deadline
 * on the server's clock, past which the script writes nothing.
 */
function modeArg(mode: DecisionMode, deadline: number): string {
  return mode === "consume" ? `c:${deadline}` : "p";
}

/** A batch's deadline: its earliest entry's, so no entry is written for after it was given up. */
function earliestDeadline(entries: readonly { readonly deadline: number }[]): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const { deadline } of entries) if (deadline < earliest) earliest = deadline;
  return earliest;
}
