import type { Outcome, Simulation } from "./run.js";
import { tally } from "./run.js";
import { linearScale, type Scale } from "./scale.js";
import { escapeXml, px, shortNumber } from "./svg-text.js";
import { THEME_STYLE } from "./svg-theme.js";
import type { Traffic } from "./traffic.js";

/** What one picture shows: a simulation, the traffic it replayed, and its title. */
export interface Chart {
  /** The strategy as the title names it: "GCRA (burst 5)". */
  readonly title: string;
  readonly traffic: Traffic;
  readonly simulation: Simulation;
}

const WIDTH = 760;
const HEIGHT = 440;
const LEFT = 60;
const RIGHT = WIDTH - 20;
/** The counts panel, and below it the waits panel, sharing the time axis. */
const COUNTS = { top: 80, bottom: 280 };
const WAITS = { top: 316, bottom: 392 };

/** The lines of the counts panel: which requests each counts, its legend, its class. */
const SERIES: readonly { cls: string; label: string; counts: (outcome: Outcome) => boolean }[] = [
  { cls: "offered", label: "offered", counts: () => true },
  { cls: "admitted", label: "admitted", counts: (outcome) => outcome !== "rejected" },
  { cls: "queued", label: "of which after a delay", counts: (outcome) => outcome === "queued" },
  { cls: "rejected", label: "rejected", counts: (outcome) => outcome === "rejected" },
];

/**
 * The picture of a simulation as SVG text: over a shared time axis, the cumulative count of
 * requests offered, admitted (and of those, admitted after a delay) and rejected, with the
 * rate's steady pace for reference; below, the wait each client was told (`retryAfterMs` for a
 * rejected request, the delay before a queued one starts). Plain SVG with no dependency;
 * the same chart always gives the same bytes.
 */
export function renderSvg(chart: Chart): string {
  const { traffic, simulation } = chart;
  const { requests, rate, cost } = simulation;
  const counts = tally(simulation);
  const span = traffic.toMs - traffic.fromMs;
  // Seconds on the axis once the span is long enough for them to be round.
  const unit = span >= 2_000 ? 1_000 : 1;
  const time = linearScale(span / unit, LEFT, RIGHT, 10);
  const x = (at: number): number => time.at((at - traffic.fromMs) / unit);
  const y = linearScale(requests.length, COUNTS.bottom, COUNTS.top, 5);
  const waited = requests.filter((r) => r.outcome !== "admitted");
  const longestWait = waited.reduce((most, r) => Math.max(most, r.waitMs), 0);
  const wait = linearScale(longestWait, WAITS.bottom, WAITS.top, 3);

  const name = escapeXml(`${chart.title} at ${rate}: ${traffic.label}`);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${name}">`,
    `<title>${name}</title>`,
    `<style>${THEME_STYLE}</style>`,
    `<rect class="bg" x="0.5" y="0.5" width="${WIDTH - 1}" height="${HEIGHT - 1}" rx="6"/>`,
    text(LEFT, 26, `${chart.title} at ${rate}`, "title"),
    text(
      LEFT,
      46,
      `${traffic.label}, cost ${cost}: ${requests.length} offered, ` +
        `${counts.admitted + counts.queued} admitted (${counts.queued} after a delay), ` +
        `${counts.rejected} rejected`,
      "muted",
    ),
    ...legend(rate.toString()),
    ...grid(time, x, unit, traffic.fromMs),
    ...yAxis(y, COUNTS, "requests"),
    ...yAxis(wait, WAITS, "wait, ms"),
  ];
  // The pace of the rate, from the start until it leaves the panel.
  const paceEnd = Math.min(
    traffic.toMs,
    traffic.fromMs + (y.max * cost * rate.windowMs) / rate.limit,
  );
  const paceCount = ((paceEnd - traffic.fromMs) * rate.limit) / (rate.windowMs * cost);
  parts.push(
    `<path class="pace" d="M${px(x(traffic.fromMs))} ${px(y.at(0))}L${px(x(paceEnd))} ${px(y.at(paceCount))}"/>`,
  );
  for (const { cls, counts } of SERIES) {
    const at = requests.filter((r) => counts(r.outcome)).map((r) => r.at);
    parts.push(`<path class="line ${cls}" d="${stepPath(at, x, y, traffic)}"/>`);
  }
  parts.push(...waitMarks(requests, x, wait));
  if (waited.length === 0) {
    parts.push(
      text(LEFT + 12, (WAITS.top + WAITS.bottom) / 2 + 4, "no client was told to wait", "muted"),
    );
  }
  parts.push("</svg>", "");
  return parts.join("\n");
}

function text(x: number, y: number, content: string, cls?: string, anchor?: string): string {
  const classAttr = cls === undefined ? "" : ` class="${cls}"`;
  const anchorAttr = anchor === undefined ? "" : ` text-anchor="${anchor}"`;
  return `<text x="${px(x)}" y="${px(y)}"${classAttr}${anchorAttr}>${escapeXml(content)}</text>`;
}

/** The legend row above the counts panel, and the one above the waits panel. */
function legend(rate: string): string[] {
  const items: string[] = [];
  let at = LEFT;
  for (const { cls, label } of [...SERIES, { cls: "pace", label: `pace of ${rate}` }]) {
    items.push(
      `<path class="${cls === "pace" ? cls : `line ${cls}`}" d="M${at} 64h22"/>`,
      text(at + 28, 68, label),
    );
    // Text is not measured in SVG: about 6.6 px a character at 12 px.
    at += 28 + Math.ceil(label.length * 6.6) + 22;
  }
  const top = WAITS.top - 12;
  items.push(
    `<path class="cross" d="${cross(LEFT + 3, top - 4)}"/>`,
    text(LEFT + 12, top, "wait told to a rejected client (retryAfterMs)"),
    `<path class="diamond" d="${diamond(LEFT + 323, top - 4)}"/>`,
    text(LEFT + 332, top, "delay of a request admitted after a delay"),
  );
  return items;
}

/** Vertical grid lines with time labels, through both panels. */
function grid(time: Scale, x: (at: number) => number, unit: number, fromMs: number): string[] {
  const lines: string[] = [];
  for (const tick of time.ticks) {
    const at = px(x(fromMs + tick * unit));
    lines.push(
      `<path class="grid" d="M${at} ${COUNTS.top}V${COUNTS.bottom}M${at} ${WAITS.top}V${WAITS.bottom}"/>`,
      text(Number(at), WAITS.bottom + 16, shortNumber(tick), "muted", "middle"),
    );
  }
  const label = `time since the start, ${unit === 1 ? "ms" : "s"}`;
  lines.push(text((LEFT + RIGHT) / 2, WAITS.bottom + 36, label, "muted", "middle"));
  return lines;
}

/** Horizontal grid lines with value labels, and the panel's frame and name. */
function yAxis(scale: Scale, panel: { top: number; bottom: number }, name: string): string[] {
  const lines: string[] = [];
  for (const tick of scale.ticks) {
    const at = px(scale.at(tick));
    lines.push(
      `<path class="grid" d="M${LEFT} ${at}H${RIGHT}"/>`,
      text(LEFT - 6, Number(at) + 4, shortNumber(tick), "muted", "end"),
    );
  }
  const middle = px((panel.top + panel.bottom) / 2);
  lines.push(
    `<path class="axis" d="M${LEFT} ${panel.top}V${panel.bottom}H${RIGHT}"/>`,
    `<text class="muted" text-anchor="middle" transform="translate(16 ${middle}) rotate(-90)">${name}</text>`,
  );
  return lines;
}

/**
 * A cumulative count as a step line: flat between arrivals, one step up at each distinct
 * time, flat again to the end of the axis.
 */
function stepPath(
  times: readonly number[],
  x: (at: number) => number,
  y: Scale,
  { fromMs, toMs }: Traffic,
): string {
  let d = `M${px(x(fromMs))} ${px(y.at(0))}`;
  for (let i = 0; i < times.length; i++) {
    // One step for every request at the same time.
    if (times[i + 1] === times[i]) continue;
    d += `H${px(x(times[i] as number))}V${px(y.at(i + 1))}`;
  }
  return `${d}H${px(x(toMs))}`;
}

/** A cross for each wait told to a rejected client, a diamond for each delay, each once. */
function waitMarks(
  requests: Simulation["requests"],
  x: (at: number) => number,
  wait: Scale,
): string[] {
  const crosses = new Set<string>();
  const diamonds = new Set<string>();
  for (const { at, outcome, waitMs } of requests) {
    if (outcome === "rejected") crosses.add(cross(x(at), wait.at(waitMs)));
    if (outcome === "queued") diamonds.add(diamond(x(at), wait.at(waitMs)));
  }
  const marks: string[] = [];
  if (crosses.size > 0) marks.push(`<path class="cross" d="${[...crosses].join("")}"/>`);
  if (diamonds.size > 0) marks.push(`<path class="diamond" d="${[...diamonds].join("")}"/>`);
  return marks;
}

function cross(x: number, y: number): string {
  return `M${px(x - 3)} ${px(y - 3)}l6 6m0 -6l-6 6`;
}

function diamond(x: number, y: number): string {
  return `M${px(x)} ${px(y - 3.5)}l3.5 3.5l-3.5 3.5l-3.5 -3.5z`;
}
