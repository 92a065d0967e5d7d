/**
 * Traffik for NestJS, under the Express and the Fastify platform, and for WebSocket gateways.
 *
 * ```ts
 * // In the root module's imports:
 * TraffikModule.forRoot({ backend, throttles: [perClient] })
 * // On a controller (every handler) or a handler; both apply, all or nothing:
 * Throttled(perUser)
 * // On a handler that no throttle may touch:
 * SkipThrottle()
 * ```
 *
 * @module
 */
import type { CanActivate, DynamicModule, ExecutionContext, Provider } from "@nestjs/common";
import { ConfigurationError } from "../../errors.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import type { ThrottleBackend } from "../../throttles/backend-access.js";
import type { BaseThrottle } from "../../throttles/base.js";
import { decide } from "../../throttles/decide.js";
import type { Verdict } from "../../throttles/verdict.js";
import {
  appSettings,
  checkOptions,
  type IntegrationOptions,
  type Settings,
} from "../shared/options.js";
import type { HeaderList } from "../shared/rate-limit-headers.js";
import { rateLimitMessage } from "../shared/rate-limit-message.js";
import { shareSettings } from "../shared/request-state.js";
import { throttledBody, throttleTogether } from "../shared/request-throttling.js";
import { closingOf } from "../shared/socket-closing.js";
import { type ClosingStream, StreamDeparture } from "../shared/stream-departure.js";
import { checkThrottles } from "../shared/throttled-args.js";

/** Options of {@link TraffikModule}. */
export interface TraffikModuleOptions extends Pick<IntegrationOptions, "headers"> {
  /** The app's backend, for throttles without their own; initialized with the app, closed with it. */
  backend?: ThrottleBackend;
  /** Throttles applied to every route and gateway message (unless skipped), before their own. */
  throttles?: readonly BaseThrottle<never>[];
}

/** Options of {@link TraffikModule.forRootAsync}. */
export interface TraffikModuleAsyncOptions {
  imports?: DynamicModule["imports"];
  inject?: unknown[];
  useFactory: (...args: never[]) => TraffikModuleOptions | Promise<TraffikModuleOptions>;
}

/** The injection token of the module's options. */
export const TRAFFIK_OPTIONS = Symbol.for("traffik.nestjs.options");

const THROTTLES = "traffik:throttles";
const SKIP = "traffik:skip";

type Target = object;

/** Nest's metadata lives in `reflect-metadata`, which every Nest app loads. */
interface MetadataReflect {
  defineMetadata(key: string, value: unknown, target: Target): void;
  getMetadata(key: string, target: Target): unknown;
}

function metadata(): MetadataReflect {
  const reflect = Reflect as unknown as Partial<MetadataReflect>;
  if (typeof reflect.defineMetadata !== "function" || typeof reflect.getMetadata !== "function") {
    throw new ConfigurationError(
      'traffik/nestjs needs "reflect-metadata" loaded, as every NestJS app does: import "reflect-metadata".',
    );
  }
  return reflect as MetadataReflect;
}

/** Marks a class or handler with metadata, as Nest's `SetMetadata` does. */
function mark(key: string, value: unknown) {
  return (target: Target, _key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    metadata().defineMetadata(key, value, (descriptor?.value as Target | undefined) ?? target);
  };
}

/**
 * Throttles a controller (every handler) or one handler, or a gateway's message handlers. On a
 * handler of a throttled controller, both apply, all or nothing.
 * It only marks: `TraffikGuard`, which `TraffikModule` installs app-wide, decides before the
 * handler runs. Unlike `traffik`'s `@throttled`, it wraps nothing and needs the module.
 * @throws {ConfigurationError} at once, for anything but throttles.
 */
export function Throttled(...throttles: BaseThrottle<never>[]) {
  return mark(THROTTLES, checkThrottles(throttles, "@Throttled()"));
}

/**
 * Exempts a handler from every throttle, the module's included; on a controller, exempts its
 * handlers from the module's and the controller's throttles (a handler's own `@Throttled`
 * still applies).
 */
export function SkipThrottle() {
  return mark(SKIP, true);
}

/**
 * The guard `TraffikModule` installs app-wide (`APP_GUARD`): it applies the module's throttles and
 * those of `@Throttled` to each request and each gateway message, all or nothing. A throttled
 * HTTP request gets 429 with `Retry-After`, the rate-limit headers and `{ detail, retryAfter }`
 * (an `HttpException` whose `cause` is the `ConnectionThrottled`, so exception filters can
 * reshape it); a throttled WebSocket message is not handled and its client gets Nest's
 * `{ "event": "exception", "data": { "type": "rate_limit", "retryAfter", ... } }` (a
 * `WsException`).
 */
export class TraffikGuard implements CanActivate {
  private readonly settings: Settings;
  private readonly throttles: readonly BaseThrottle<object>[];

  constructor(options: TraffikModuleOptions) {
    rejectUnknownOptions("TraffikModule", options, {
      headers: true,
      backend: true,
      throttles: true,
    });
    checkOptions(options, "TraffikModule");
    this.throttles = checkThrottles(options.throttles ?? [], "TraffikModule throttles");
    // Nest answers through its exceptions, which its filters may reshape.
    this.settings = appSettings(options, "error");
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const handler = context.getHandler();
    const controller = context.getClass();
    const reflect = metadata();
    if (reflect.getMetadata(SKIP, handler) === true) return true;
    // A skipped controller keeps only what its handlers ask for themselves.
    const skipShared = reflect.getMetadata(SKIP, controller) === true;
    const throttles = [
      ...(skipShared ? [] : this.throttles),
      ...(skipShared
        ? []
        : ((reflect.getMetadata(THROTTLES, controller) as BaseThrottle<object>[] | undefined) ??
          [])),
      ...((reflect.getMetadata(THROTTLES, handler) as BaseThrottle<object>[] | undefined) ?? []),
    ];
    if (throttles.length === 0) return true;
    const type = context.getType();
    if (type === "http") return this.httpRequest(context, throttles);
    if (type === "ws") return this.wsMessage(context, throttles);
    return true;
  }

  private async httpRequest(
    context: ExecutionContext,
    throttles: readonly BaseThrottle<object>[],
  ): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<object>();
    const response = http.getResponse<object>();
    shareSettings(request, this.settings);
    const departure = new StreamDeparture(nodeResponse(response));
    const verdict = await throttleTogether(throttles, request, this.settings, departure);
    if (verdict.abandoned) return unanswered();
    setHeaders(response, verdict.headers);
    if (verdict.throttled === undefined) return true;
    setHeaders(response, Object.entries(verdict.throttled.headers));
    const { HttpException } = await import("@nestjs/common");
    throw new HttpException(throttledBody(verdict.throttled), verdict.throttled.status, {
      cause: verdict.throttled,
    });
  }

  private async wsMessage(
    context: ExecutionContext,
    throttles: readonly BaseThrottle<object>[],
  ): Promise<boolean> {
    const client = context.switchToWs().getClient<object>();
    // The client lives as long as the socket: decide each message on its own, keep nothing.
    if (this.settings.backend !== undefined) this.settings.backend.attachTo(client);
    const closing = closingOf(client);
    let verdict: Verdict<object>;
    try {
      verdict = await decide(throttles, client, { mode: "consume", departure: closing });
    } catch (error) {
      if (closing?.gone && error === closing.reason) return unanswered();
      throw error;
    }
    const rejection = verdict.rejection;
    if (rejection === undefined) return true;
    // Nest's own WebSocket error: its exception filter sends { event: "exception", data }.
    const { WsException } = await import("@nestjs/websockets");
    throw new WsException(rateLimitMessage(rejection.uid, rejection.retryAfterMs));
  }
}

/**
 * The module: `forRoot({ backend, throttles, headers })` or `forRootAsync({ useFactory,
 * inject, imports })`. Global: import it once, in the root module.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class, configured statically.
export class TraffikModule {
  static forRoot(options: TraffikModuleOptions = {}): DynamicModule {
    return TraffikModule.with({ provide: TRAFFIK_OPTIONS, useValue: options });
  }

  static forRootAsync(options: TraffikModuleAsyncOptions): DynamicModule {
    rejectUnknownOptions("TraffikModule.forRootAsync", options, {
      imports: true,
      inject: true,
      useFactory: true,
    });
    return {
      ...TraffikModule.with({
        provide: TRAFFIK_OPTIONS,
        useFactory: options.useFactory,
        inject: (options.inject ?? []) as never[],
      }),
      imports: options.imports ?? [],
    };
  }

  private static with(optionsProvider: Provider): DynamicModule {
    return {
      module: TraffikModule,
      global: true,
      providers: [
        optionsProvider,
        {
          provide: TraffikGuard,
          useFactory: (options: TraffikModuleOptions) => new TraffikGuard(options),
          inject: [TRAFFIK_OPTIONS],
        },
        // Nest's APP_GUARD token: the guard covers every controller and gateway.
        { provide: "APP_GUARD", useExisting: TraffikGuard },
        {
          provide: Symbol.for("traffik.nestjs.lifecycle"),
          useFactory: (options: TraffikModuleOptions) => ({
            onModuleInit: () => options.backend?.ready(),
            onApplicationShutdown: () => options.backend?.close(),
          }),
          inject: [TRAFFIK_OPTIONS],
        },
      ],
      exports: [TRAFFIK_OPTIONS, TraffikGuard],
    };
  }
}

/**
 * What the guard answers for a request or message whose client went away while it waited for
 * its turn: nothing, ever. It must run nothing (neither the handler nor an exception filter),
 * and it goes with its closed socket. A fresh promise each time, so none collects reactions.
 */
function unanswered(): Promise<never> {
  return new Promise<never>(() => {});
}

/** The `node:http` response under an Express response or a Fastify reply. */
function nodeResponse(response: object): ClosingStream {
  const raw = (response as { raw?: ClosingStream }).raw;
  return raw ?? (response as ClosingStream);
}

/** Sets headers on an Express response or a Fastify reply. */
function setHeaders(response: object, headers: HeaderList): void {
  const reply = response as {
    header?: (name: string, value: string) => unknown;
    setHeader?: (name: string, value: string) => unknown;
  };
  for (const [name, value] of headers) {
    if (typeof reply.setHeader === "function") reply.setHeader(name, value);
    else reply.header?.(name, value);
  }
}
