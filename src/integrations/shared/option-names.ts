import { APP_HOOK_OPTION_NAMES } from "../../events/app-hooks.js";
import type { OptionNames } from "../../internal/known-keys.js";
import type {
  MiddlewareThrottleOptions,
  ThrottleMiddlewareOptions,
} from "./middleware-throttle.js";
import { INTEGRATION_OPTION_NAMES } from "./options.js";

/** The names of every framework's `ThrottleMiddleware` options. @internal */
export const THROTTLE_MIDDLEWARE_OPTION_NAMES: OptionNames<ThrottleMiddlewareOptions<unknown>> = {
  ...INTEGRATION_OPTION_NAMES,
  ...APP_HOOK_OPTION_NAMES,
  middlewareThrottles: true,
  backend: true,
  mode: true,
  skip: true,
  allowList: true,
  denyList: true,
};

/** The names of `MiddlewareThrottle`'s filters. @internal */
export const MIDDLEWARE_THROTTLE_OPTION_NAMES: OptionNames<MiddlewareThrottleOptions<unknown>> = {
  path: true,
  methods: true,
  hook: true,
};
