/**
 * `traffik.decisions`, counted here and handed to the SDK when it collects (an ObservableCounter)
 * instead of one synchronous `add` per decision. The SDK finds a data point's series by sorting
 * and serialising its attributes on every `add`: for a decision's seven attributes that was most
 * of the cost of recording it. Measured on the 2-core VM, loaded, one process alternating the
 * ways over 1M decisions (5 rounds): a synchronous `add` 3.2–7.5 µs, a series found by a string
 * key 0.4–1.2 µs, here 39–62 ns; `npm run bench`'s "with traffik/otel metrics" line went from
 * 61–75 k/s to 87–115 k/s (3 alternations each; a bare `traffik:decision` subscriber 145–321
 * k/s). Here a series is found by the strings the event already holds (uid, strategy, backend,
 * source: the same string objects each time) and a number for the rest.
 *
 * @module
 */
import type { Attributes, ObservableResult } from "@opentelemetry/api";
import type { DecisionEvent } from "../events/types.js";
import { decisionAttributes, isShadow } from "./attributes.js";

/** One series: its attributes, and its decisions so far. */
interface Series {
  readonly attributes: Attributes;
  count: number;
}

/** Series by uid, strategy, backend and source, then by outcome, mode and throttle mode. */
type Tree = Map<string, Map<string, Map<string, Map<string, (Series | undefined)[]>>>>;

/** Where a level of the tree keeps the next: made on first use. */
function child<V>(map: Map<string, V>, key: string, make: () => V): V {
  let found = map.get(key);
  if (found === undefined) {
    found = make();
    map.set(key, found);
  }
  return found;
}

const newMap = () => new Map();

/**
 * Series kept at most, the overflow series aside: 2 000 in all, the SDK's default cardinality
 * limit. Attributes are all configured (no identity), but throttles made per request with new
 * uids must not grow memory for ever: further series' decisions are counted in one overflow
 * series (`otel.metric.overflow`), as the SDK does. @internal
 */
export const MAX_SERIES = 1999;

const cellOf = (event: DecisionEvent): number =>
  (event.allowed ? 1 : 0) | (event.mode === "peek" ? 2 : 0) | (isShadow(event) ? 4 : 0);

/** Counts decisions by series, for an ObservableCounter's callback. @internal */
export class DecisionTally {
  private readonly tree: Tree = new Map();
  private readonly all: Series[] = [];
  private readonly overflow: Series = { attributes: { "otel.metric.overflow": true }, count: 0 };

  count(event: DecisionEvent): void {
    const cell = cellOf(event);
    const series = this.tree
      .get(event.uid)
      ?.get(event.strategy)
      // "" is no namespace a backend accepts: it stands for "no backend reached".
      ?.get(event.backend ?? "")
      ?.get(event.source)?.[cell];
    if (series !== undefined) series.count++;
    else this.add(event, cell);
  }

  private add(event: DecisionEvent, cell: number): void {
    if (this.all.length >= MAX_SERIES) {
      this.overflow.count++;
      return;
    }
    const byStrategy = child(this.tree, event.uid, newMap);
    const byBackend = child(byStrategy, event.strategy, newMap);
    const bySource = child(byBackend, event.backend ?? "", newMap);
    const cells = child(bySource, event.source, () => [] as (Series | undefined)[]);
    const series = { attributes: decisionAttributes(event), count: 1 };
    cells[cell] = series;
    this.all.push(series);
  }

  /** Reports every series' count so far (an ObservableCounter's values are totals). */
  readonly observe = (result: ObservableResult): void => {
    for (const series of this.all) result.observe(series.count, series.attributes);
    if (this.overflow.count > 0) result.observe(this.overflow.count, this.overflow.attributes);
  };
}
