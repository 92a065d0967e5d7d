import { ConfigurationError } from "../errors.js";
import { rejectUnknownOptions } from "../internal/known-keys.js";
import { hitAll } from "./all-or-nothing.js";
import { BaseThrottle } from "./base.js";

/** Options of {@link throttled}. */
export interface ThrottledOptions<C, Args extends unknown[]> {
  /** Where the connection is among a handler's arguments. @default the first argument */
  connection?: (...args: Args) => C;
}

type Handler<This, Args extends unknown[], R> = (this: This, ...args: Args) => R;
type Throttled<This, Args extends unknown[], R> = (
  this: This,
  ...args: Args
) => Promise<Awaited<R>>;

/**
 * A method decorator that works in both worlds: as a standard (TC39) decorator, called with the
 * method and its context, and under `experimentalDecorators` (NestJS, TypeORM, Angular), called
 * with the prototype, the method's name and its property descriptor.
 */
export interface ThrottledDecorator {
  <This, Args extends unknown[], R>(
    method: Handler<This, Args, R>,
    context: ClassMethodDecoratorContext<This, Handler<This, Args, R>>,
  ): Throttled<This, Args, R>;
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void;
}

/**
 * The `@throttled(...)` of Traffik for Python, for TypeScript: throttles a function or a class
 * method by the connection among its arguments (the first, unless `options.connection` says
 * otherwise). Several throttles are applied all or nothing; a throttled call runs the first rejecting
 * throttle's `handleThrottled` (by default it rejects with `ConnectionThrottled`) and never
 * reaches the handler.
 *
 * Two functions are named `throttled`, on purpose: this one, the core's, is the method
 * decorator (and function wrapper) and wraps any async function or method, framework or not;
 * each HTTP adapter's `throttled(...throttles)` (`traffik/express`, `traffik/fastify`,
 * `traffik/hono`) builds route middleware instead, and answers a throttled request with 429.
 * NestJS's `@Throttled(...)` (`traffik/nestjs`) is a third thing: it only marks a controller or
 * handler for `TraffikGuard`.
 *
 * As a method decorator, standard (TC39) or legacy (`experimentalDecorators`) alike:
 * ```ts
 * class Reports {
 *   @throttled(perUser)
 *   async export(req: IncomingMessage) { ... }
 * }
 * ```
 * As a function: `const handler = throttled(perUser, async (req, res) => { ... })`.
 *
 * @throws {ConfigurationError} at once, for anything but throttles.
 */
export function throttled<C, This, Args extends unknown[], R>(
  throttles: BaseThrottle<C> | readonly BaseThrottle<C>[],
  handler: Handler<This, Args, R>,
  options?: ThrottledOptions<C, Args>,
): Throttled<This, Args, R>;
export function throttled<C>(
  throttles: BaseThrottle<C> | readonly BaseThrottle<C>[],
  options?: ThrottledOptions<C, unknown[]>,
): ThrottledDecorator;
export function throttled<C, This, Args extends unknown[], R>(
  throttles: BaseThrottle<C> | readonly BaseThrottle<C>[],
  handlerOrOptions?: Handler<This, Args, R> | ThrottledOptions<C, Args>,
  maybeOptions?: ThrottledOptions<C, Args>,
): unknown {
  const list: readonly BaseThrottle<C>[] = Array.isArray(throttles) ? throttles : [throttles];
  if (list.length === 0 || !list.every((t) => t instanceof BaseThrottle)) {
    throw new ConfigurationError("throttled(): the first argument must be one or more throttles.");
  }
  const wrap = (handler: Handler<This, Args, R>, options?: ThrottledOptions<C, Args>) => {
    const connectionOf = options?.connection ?? ((...args: Args) => args[0] as C);
    return async function throttledHandler(this: This, ...args: Args): Promise<Awaited<R>> {
      await hitAll(list, connectionOf(...args));
      return await handler.apply(this, args);
    };
  };
  const options = typeof handlerOrOptions === "function" ? maybeOptions : handlerOrOptions;
  rejectUnknownOptions("throttled()", options, { connection: true });
  if (typeof handlerOrOptions === "function") return wrap(handlerOrOptions, maybeOptions);
  return function throttledDecorator(
    methodOrTarget: unknown,
    contextOrKey: ClassMethodDecoratorContext | string | symbol,
    descriptor?: PropertyDescriptor,
  ) {
    // Legacy decorators pass the method's name; standard ones a context object.
    if (typeof contextOrKey === "string" || typeof contextOrKey === "symbol") {
      if (typeof descriptor?.value !== "function") {
        throw new ConfigurationError("@throttled() decorates methods only.");
      }
      descriptor.value = wrap(descriptor.value, handlerOrOptions);
      return;
    }
    if (contextOrKey.kind !== "method") {
      throw new ConfigurationError("@throttled() decorates methods only.");
    }
    return wrap(methodOrTarget as Handler<This, Args, R>, handlerOrOptions);
  };
}
