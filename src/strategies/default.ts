import { FixedWindowStrategy } from "./fixed-window.js";
import type { Strategy } from "./strategy.js";

/**
 * The strategy of a throttle that names none: a fixed window, as in the original library.
 * Here so that no layer outside `strategies/` names a strategy class.
 */
export function defaultStrategy(): Strategy {
  return new FixedWindowStrategy();
}
