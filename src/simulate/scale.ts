/** A linear map from data to pixels, with round tick values for its axis. */
export interface Scale {
  /** Pixel position of a data value. */
  readonly at: (value: number) => number;
  /** Round data values for ticks, from the domain's start to its end. */
  readonly ticks: readonly number[];
  /** The domain's end: the data's maximum, rounded up to a tick. */
  readonly max: number;
}

/**
 * A scale from `[0, max]` (or `[from, from + span]`) onto `[start, end]` pixels, its end
 * rounded up to the next of about `count` round ticks (1, 2 or 5 times a power of ten).
 * `end` may be less than `start`, for a y axis that grows upwards.
 */
export function linearScale(
  span: number,
  start: number,
  end: number,
  count: number,
  from = 0,
): Scale {
  const step = roundStep(Math.max(span, 1) / count);
  const max = Math.ceil(Math.max(span, 1) / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + 1e-9; i++) ticks.push(i * step);
  return { at: (value) => start + ((value - from) / max) * (end - start), ticks, max };
}

/** The round number (1, 2 or 5 times a power of ten) nearest above `rough`. */
function roundStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const mantissa = rough / power;
  return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power;
}
