import { ConfigurationError } from "../../errors.js";
import type { BaseThrottle } from "../../throttles/base.js";
import { checkThrottles } from "../shared/throttled-args.js";

const THROTTLES = "traffik:throttles";
const SKIP = "traffik:skip";

type Target = object;

/** Nest's metadata lives in `reflect-metadata`, which every Nest app loads. */
interface MetadataReflect {
  defineMetadata(key: string, value: unknown, target: Target, property?: string | symbol): void;
  getMetadata(key: string, target: Target, property?: string | symbol): unknown;
}

/** `reflect-metadata`'s functions, or a {@link ConfigurationError} naming it. @internal */
export function metadata(): MetadataReflect {
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

/** The throttles `@Throttled` put on a controller or handler. @internal */
export function throttlesOf(target: Target): readonly BaseThrottle<object>[] {
  return (metadata().getMetadata(THROTTLES, target) as BaseThrottle<object>[] | undefined) ?? [];
}

/** Whether `@SkipThrottle` marks a controller or handler. @internal */
export function isSkipped(target: Target): boolean {
  return metadata().getMetadata(SKIP, target) === true;
}
