/**
 * Refunds (`skipFailedRequests`, `skipSuccessfulRequests`: express-rate-limit's names and
 * meaning): once a response has ended, the request's cost is given back to every throttle that
 * counted it, through the throttle's reward path, when the outcome says so. Failed means a
 * status of 400 or more, or a response that closed before it finished (the client went away,
 * the connection broke): an aborted request counts as failed. Only counted decisions are given
 * back (admitted by the backend, or in degraded mode): never an exempt request, one `onError`
 * answered, nor a rejected one, which counted nothing; and each once, when the response ends.
 * An app without either option sets none of this up.
 *
 * @module
 */
import { ConfigurationError } from "../../errors.js";
import { refundRequest } from "../../throttles/adjust.js";
import type { BaseThrottle } from "../../throttles/base.js";
import type { Decision } from "../../throttles/decision.js";

/** The refund options every integration takes. */
export interface RefundOptions {
  /**
   * Give a request's cost back when its response failed: a status of 400 or more (or not
   * `requestWasSuccessful`), or a response that closed before it finished. @default false
   */
  skipFailedRequests?: boolean;
  /** Give a request's cost back when its response succeeded. @default false */
  skipSuccessfulRequests?: boolean;
  /**
   * Whether a finished response's status counts as a success. A response that closed before
   * it finished is a failure whatever this says. @default status < 400
   */
  requestWasSuccessful?: (status: number) => boolean;
}

/** When to refund: the options, checked. @internal */
export interface RefundPolicy {
  readonly failed: boolean;
  readonly successful: boolean;
  readonly succeeded: (status: number) => boolean;
}

/** How a response ended: its status, and whether it finished (rather than closed early). */
export type ResponseOutcome = (status: number, finished: boolean) => void;

/** Where an adapter tells how its response ended: `watch` is called at most once per request. @internal */
export interface ResponseEnding {
  watch(then: ResponseOutcome): void;
}

const succeededByStatus = (status: number): boolean => status < 400;

/** The refund policy of `options`, or `undefined` when neither refund is on. @internal */
export function refundPolicy(options: RefundOptions, where: string): RefundPolicy | undefined {
  const { skipFailedRequests, skipSuccessfulRequests, requestWasSuccessful } = options;
  for (const [name, value] of [
    ["skipFailedRequests", skipFailedRequests],
    ["skipSuccessfulRequests", skipSuccessfulRequests],
  ] as const) {
    if (value !== undefined && typeof value !== "boolean") {
      throw new ConfigurationError(
        `${where}: ${name} must be true or false, got ${String(value)}.`,
      );
    }
  }
  if (requestWasSuccessful !== undefined && typeof requestWasSuccessful !== "function") {
    throw new ConfigurationError(
      `${where}: requestWasSuccessful must be a function of the status.`,
    );
  }
  if (!skipFailedRequests && !skipSuccessfulRequests) return undefined;
  return Object.freeze({
    failed: skipFailedRequests === true,
    successful: skipSuccessfulRequests === true,
    succeeded: requestWasSuccessful ?? succeededByStatus,
  });
}

/**
 * Gives the request's cost back to the throttles among `throttles` whose decision counted it,
 * once `ending` tells the response's outcome, if `policy` wants it. Best effort: a refund the
 * backend fails to make leaves the request counted, as it was. @internal
 */
export function refundWhenEnded<C>(
  policy: RefundPolicy,
  ending: ResponseEnding,
  throttles: readonly BaseThrottle<C>[],
  decisions: readonly Decision[],
  connection: C,
): void {
  const counted: BaseThrottle<C>[] = [];
  for (const decision of decisions) {
    if (!decision.allowed || (decision.source !== "backend" && decision.source !== "degraded")) {
      continue;
    }
    const throttle = throttles.find((candidate) => candidate.uid === decision.uid);
    if (throttle !== undefined) counted.push(throttle);
  }
  if (counted.length === 0) return;
  ending.watch((status, finished) => {
    const succeeded = finished && policy.succeeded(status);
    if (succeeded ? !policy.successful : !policy.failed) return;
    for (const throttle of counted) {
      refundRequest(throttle, connection).catch(() => {
        // Nobody waits for a refund: the request stays counted, as if it had not been given.
      });
    }
  });
}

/** The slice of a Node `ServerResponse` a refund reads. */
export interface NodeResponse {
  readonly statusCode: number;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  once(event: "finish" | "close", listener: () => void): unknown;
}

/**
 * The ending of a Node response: at `finish` (sent) or `close` (gone before it finished),
 * whichever comes first, once; at once for a response already over. @internal
 */
export function nodeResponseEnding(response: NodeResponse): ResponseEnding {
  return {
    watch(then) {
      let told = false;
      const tell = () => {
        if (told) return;
        told = true;
        then(response.statusCode, response.writableFinished);
      };
      // Gone already, while the request was decided: failed, and told now.
      if (response.writableFinished || response.destroyed) tell();
      else {
        response.once("finish", tell);
        response.once("close", tell);
      }
    },
  };
}
