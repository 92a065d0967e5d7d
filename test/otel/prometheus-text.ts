/** Reads Prometheus's text exposition format back, as a scraper would, for the tests. */

/** One sample: its metric name, labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** What a scrape says: its samples, and the `# TYPE` and `# UNIT` of each metric family. */
export interface Scrape {
  readonly samples: Sample[];
  readonly types: ReadonlyMap<string, string>;
  readonly units: ReadonlyMap<string, string>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses a scrape; throws on a line that is neither a comment nor a sample. */
export function parseScrape(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const units = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const comment = /^# (TYPE|UNIT|HELP) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment as unknown as [string, string, string, string];
      if (kind === "TYPE") types.set(name, rest);
      if (kind === "UNIT") units.set(name, rest);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample: ${line}`);
    const [, name, labelText = "", value] = match as unknown as [string, string, string, string];
    const labels: Record<string, string> = {};
    for (const [, key, raw] of labelText.matchAll(LABEL)) {
      labels[key as string] = (raw as string).replace(/\\(.)/g, (_, c: string) =>
        c === "n" ? "\n" : c,
      );
    }
    samples.push({ name, labels, value: Number(value) });
  }
  return { samples, types, units };
}

/** The samples named `name` whose labels include `match`. */
export function samplesOf(
  scrape: Scrape,
  name: string,
  match: Readonly<Record<string, string>> = {},
): Sample[] {
  return scrape.samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(match).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The sum of the values of {@link samplesOf}: 0 when there are none. */
export function total(
  scrape: Scrape,
  name: string,
  match: Readonly<Record<string, string>> = {},
): number {
  return samplesOf(scrape, name, match).reduce((sum, sample) => sum + sample.value, 0);
}
