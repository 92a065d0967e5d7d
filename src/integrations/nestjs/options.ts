import type { DynamicModule } from "@nestjs/common";
import type { ThrottleHooks } from "../../events/types.js";
import type { AccessOptions } from "../../throttles/access.js";
import type { ThrottleBackend } from "../../throttles/backend-access.js";
import type { BaseThrottle } from "../../throttles/base.js";
import type { ThrottleMode } from "../../throttles/options.js";
import type { IntegrationOptions } from "../shared/options.js";

/**
 * Options of {@link TraffikModule}. `skip`, `allowList` and `denyList` screen each request and
 * gateway message before any throttle the guard applies (the module's, and `@Throttled`'s): a
 * denied HTTP request gets 403, a denied message a `WsException` of type `"denied"`. Its hooks
 * (`onDecision`, `onThrottled`, `onBackendError`) see every decision the guard takes, and those
 * a handler takes on the same request or socket. `message` and `statusCode` make the
 * `HttpException` of a throttled request (`message` a function of the Express or Fastify
 * request).
 */
export interface TraffikModuleOptions
  extends Pick<
      IntegrationOptions<object>,
      | "headers"
      | "statusCode"
      | "message"
      | "skipFailedRequests"
      | "skipSuccessfulRequests"
      | "requestWasSuccessful"
    >,
    AccessOptions<object>,
    ThrottleHooks {
  /**
   * `"shadow"` applies every throttle the guard applies in shadow mode: counted and reported,
   * never rejecting nor delaying. @default "enforce": each throttle's own mode
   */
  mode?: ThrottleMode;
  /** The app's backend, for throttles without their own; initialized with the app, closed with it. */
  backend?: ThrottleBackend;
  /** Throttles applied to every route and gateway message (unless skipped), before their own. */
  throttles?: readonly BaseThrottle<never>[];
}

/** Options of {@link TraffikModule.forRootAsync}. */
export interface TraffikModuleAsyncOptions {
  /** Modules whose providers the factory needs. */
  imports?: DynamicModule["imports"];
  /** The providers passed to `useFactory`, in order. */
  inject?: unknown[];
  /** Builds the module's options, possibly asynchronously. */
  useFactory: (...args: never[]) => TraffikModuleOptions | Promise<TraffikModuleOptions>;
}

/** The injection token of the module's options. */
export const TRAFFIK_OPTIONS = Symbol.for("traffik.nestjs.options");
