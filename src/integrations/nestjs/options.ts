import type { DynamicModule } from "@nestjs/common";
import type { ThrottleBackend } from "../../throttles/backend-access.js";
import type { BaseThrottle } from "../../throttles/base.js";
import type { IntegrationOptions } from "../shared/options.js";

/** Options of {@link TraffikModule}. */
export interface TraffikModuleOptions
  extends Pick<
    IntegrationOptions,
    "headers" | "skipFailedRequests" | "skipSuccessfulRequests" | "requestWasSuccessful"
  > {
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
