/** A real OpenTelemetry SDK meter for the tests, and its data points read back by metric name. */
import type { Attributes } from "@opentelemetry/api";
import {
  DataPointType,
  type Histogram,
  MeterProvider,
  MetricReader,
} from "@opentelemetry/sdk-metrics";

/** A reader that exports nowhere: the test collects from it when it wants to look. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One data point: its attributes and value (a number for sums, a histogram for histograms). */
export interface Point<V> {
  readonly attributes: Attributes;
  readonly value: V;
}

/** A metric as collected: its unit and data points. */
export interface Collected<V> {
  readonly unit: string;
  readonly points: Point<V>[];
}

/** An SDK MeterProvider with a reader the test collects from. */
export function testMeterProvider(): {
  meterProvider: MeterProvider;
  /** The metric named `name` (its points empty when nothing was recorded). */
  sum(name: string): Promise<Collected<number>>;
  histogram(name: string): Promise<Collected<Histogram>>;
  /** The attributes of every point of every metric. */
  allAttributes(): Promise<Attributes[]>;
} {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const metrics = async () => {
    const { resourceMetrics, errors } = await reader.collect();
    if (errors.length > 0) throw new AggregateError(errors, "collection failed");
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  };
  const find = async (name: string, types: DataPointType[]) => {
    const metric = (await metrics()).find((m) => m.descriptor.name === name);
    if (metric !== undefined && !types.includes(metric.dataPointType)) {
      throw new Error(`${name} is a ${DataPointType[metric.dataPointType]}`);
    }
    return {
      unit: metric?.descriptor.unit ?? "",
      points: (metric?.dataPoints ?? []).map(({ attributes, value }) => ({ attributes, value })),
    };
  };
  return {
    meterProvider,
    sum: async (name) => (await find(name, [DataPointType.SUM])) as Collected<number>,
    histogram: async (name) =>
      (await find(name, [DataPointType.HISTOGRAM])) as Collected<Histogram>,
    allAttributes: async () =>
      (await metrics()).flatMap((metric) =>
        (metric.dataPoints as { attributes: Attributes }[]).map((point) => point.attributes),
      ),
  };
}

/** The value of the point whose attributes include `match`, 0 when there is none. */
export function valueWhere(points: readonly Point<number>[], match: Attributes): number {
  const found = points.filter((point) =>
    Object.entries(match).every(([key, value]) => point.attributes[key] === value),
  );
  return found.reduce((total, point) => total + point.value, 0);
}
