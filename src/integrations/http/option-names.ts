import type { OptionNames } from "../../internal/known-keys.js";
import type {
  MiddlewareThrottleOptions,
  ThrottleMiddlewareOptions,
} from "./middleware-throttle.js";
import type { IntegrationOptions } from "./request-throttling.js";

/** The names of the options every integration takes, for the check of unknown keys. */
export const INTEGRATION_OPTION_NAMES: OptionNames<IntegrationOptions> = {
  headers: true,
  respondWith: true,
};

/** The names of every framework's `ThrottleMiddleware` options. */
export const THROTTLE_MIDDLEWARE_OPTION_NAMES: OptionNames<ThrottleMiddlewareOptions<unknown>> = {
  ...INTEGRATION_OPTION_NAMES,
  middlewareThrottles: true,
  backend: true,
};

/** The names of `MiddlewareThrottle`'s filters. */
export const MIDDLEWARE_THROTTLE_OPTION_NAMES: OptionNames<MiddlewareThrottleOptions<unknown>> = {
  path: true,
  methods: true,
  hook: true,
};
