import type { RateLimitDecision as SharedRateLimitDecision } from "../shared/rate-limit-decision.js";
import { metadata } from "./metadata.js";

/**
 * The rate limit as it stands for one request, as `traffik/express` and the other adapters
 * describe it: what {@link RateLimitDecision | `@RateLimitDecision()`} injects.
 */
export interface RateLimitDecision extends SharedRateLimitDecision {}

/** Nest's own keys for route-argument metadata, stable since Nest 5 (`@nestjs/common/constants`). */
const ROUTE_ARGS_METADATA = "__routeArguments__";
const CUSTOM_ROUTE_ARGS_METADATA = "__customRouteArgs__";
/** Names this parameter kind among a handler's custom ones, as `createParamDecorator`'s uid does. */
const PARAM_TYPE = "traffik:rate-limit-decision";

/** The slice of Nest's `ExecutionContext` the factory reads. */
interface HttpContext {
  getType(): string;
  switchToHttp(): { getRequest<T>(): T };
}

function readDecision(_data: unknown, context: HttpContext): RateLimitDecision | undefined {
  if (context.getType() !== "http") return undefined;
  return context.switchToHttp().getRequest<{ traffik?: RateLimitDecision }>().traffik;
}

/**
 * Injects the request's {@link RateLimitDecision} into a controller's handler: every decision
 * `TraffikGuard` took on it (the module's, the controller's and the handler's throttles);
 * `undefined` on a skipped handler. The guard also sets it as `request.traffik`. HTTP only: a
 * gateway's messages are decided one by one, with nothing to inject it into.
 *
 * Written as `createParamDecorator` writes its metadata, so this module loads without
 * `@nestjs/common`.
 *
 * @example
 * // In a controller:
 * // @Get() list(@RateLimitDecision() limit: RateLimitDecision) { return { left: limit.remaining }; }
 */
export function RateLimitDecision(): ParameterDecorator {
  return (target, key, index) => {
    const reflect = metadata();
    const owner = target.constructor;
    const args = (reflect.getMetadata(ROUTE_ARGS_METADATA, owner, key) ?? {}) as object;
    reflect.defineMetadata(
      ROUTE_ARGS_METADATA,
      {
        ...args,
        [`${PARAM_TYPE}${CUSTOM_ROUTE_ARGS_METADATA}:${index}`]: {
          index,
          factory: readDecision,
          data: undefined,
          pipes: [],
        },
      },
      owner,
      key,
    );
  };
}
