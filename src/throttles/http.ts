import type { IdentifiableConnection } from "../identity/client-address.js";
import { BaseThrottle } from "./base.js";

/**
 * Throttles HTTP requests. The connection is a Node `IncomingMessage` or anything shaped like
 * one (Express, Fastify's `request.raw`, `node:http`); with a custom `identifier`, any type.
 *
 * @example
 * const throttle = new HTTPThrottle({ uid: "api", rate: "100/m" });
 * await backend.run(() => throttle.hit(req)); // throws ConnectionThrottled when over the limit
 */
export class HTTPThrottle<C = IdentifiableConnection> extends BaseThrottle<C> {}
