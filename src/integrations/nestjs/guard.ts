import type { CanActivate, ExecutionContext } from "@nestjs/common";
import { ConnectionDenied } from "../../errors.js";
import { APP_HOOK_OPTION_NAMES, attachAppHooks, readAppHooks } from "../../events/app-hooks.js";
import { rejectUnknownOptions } from "../../internal/known-keys.js";
import { type AccessCheck, accessCheck } from "../../throttles/access.js";
import type { BaseThrottle } from "../../throttles/base.js";
import { decide } from "../../throttles/decide.js";
import { isShadowMode } from "../../throttles/shadow.js";
import type { Verdict } from "../../throttles/verdict.js";
import { appSettings, checkOptions, type Settings } from "../shared/options.js";
import type { RateLimitDecision } from "../shared/rate-limit-decision.js";
import type { HeaderList } from "../shared/rate-limit-headers.js";
import { rateLimitMessage } from "../shared/rate-limit-message.js";
import { type NodeResponse, nodeResponseEnding } from "../shared/refunds.js";
import { shareSettings } from "../shared/request-state.js";
import { throttleTogether } from "../shared/request-throttling.js";
import { closingOf } from "../shared/socket-closing.js";
import { type ClosingStream, StreamDeparture } from "../shared/stream-departure.js";
import { checkThrottles } from "../shared/throttled-args.js";
import { deniedResponse, throttledResponse } from "../shared/throttled-response.js";
import { isSkipped, throttlesOf } from "./metadata.js";
import type { TraffikModuleOptions } from "./options.js";

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
  private readonly shadow: boolean;
  private readonly access: AccessCheck<object> | undefined;

  constructor(options: TraffikModuleOptions) {
    rejectUnknownOptions("TraffikModule", options, {
      headers: true,
      statusCode: true,
      message: true,
      skipFailedRequests: true,
      skipSuccessfulRequests: true,
      requestWasSuccessful: true,
      backend: true,
      throttles: true,
      mode: true,
      skip: true,
      allowList: true,
      denyList: true,
      ...APP_HOOK_OPTION_NAMES,
    });
    const overrides = checkOptions(options as TraffikModuleOptions & object, "TraffikModule");
    const hooks = readAppHooks("TraffikModule", options);
    this.throttles = checkThrottles(options.throttles ?? [], "TraffikModule throttles");
    this.shadow = isShadowMode(options.mode, "TraffikModule");
    this.access = accessCheck(options, "TraffikModule");
    // Nest answers through its exceptions, which its filters may reshape.
    this.settings = appSettings(overrides, options.backend, hooks, "error");
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const handler = context.getHandler();
    const controller = context.getClass();
    if (isSkipped(handler)) return true;
    // A skipped controller keeps only what its handlers ask for themselves.
    const throttles = isSkipped(controller)
      ? throttlesOf(handler)
      : [...this.throttles, ...throttlesOf(controller), ...throttlesOf(handler)];
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
    if (this.access !== undefined) {
      const denied = await deniedOrExempt(this.access, request);
      if (denied === true) return true;
      if (denied !== false) {
        const { HttpException } = await import("@nestjs/common");
        throw new HttpException(deniedResponse(denied).value, denied.status, { cause: denied });
      }
    }
    const departure = new StreamDeparture(nodeResponse(response));
    const ending =
      this.settings.refund && nodeResponseEnding(nodeResponse(response) as unknown as NodeResponse);
    const verdict = await throttleTogether(
      throttles,
      request,
      this.settings,
      departure,
      ending,
      this.shadow,
    );
    if (verdict.abandoned) return unanswered();
    const decision = verdict.decision as RateLimitDecision;
    (request as { traffik?: RateLimitDecision }).traffik = decision;
    setHeaders(response, verdict.headers);
    const throttled = verdict.throttled;
    if (throttled === undefined) return true;
    setHeaders(response, Object.entries(throttled.headers));
    const body =
      throttled instanceof ConnectionDenied
        ? deniedResponse(throttled)
        : await throttledResponse(throttled, this.settings.message, request, decision);
    const { HttpException } = await import("@nestjs/common");
    throw new HttpException(body.value, body.status, { cause: throttled });
  }

  private async wsMessage(
    context: ExecutionContext,
    throttles: readonly BaseThrottle<object>[],
  ): Promise<boolean> {
    const client = context.switchToWs().getClient<object>();
    // The client lives as long as the socket: decide each message on its own, keep nothing.
    if (this.settings.backend !== undefined) this.settings.backend.attachTo(client);
    if (this.settings.hooks !== undefined) attachAppHooks(client, this.settings.hooks);
    if (this.access !== undefined) {
      const denied = await deniedOrExempt(this.access, client);
      if (denied === true) return true;
      if (denied !== false) {
        const { WsException } = await import("@nestjs/websockets");
        throw new WsException({ type: "denied", detail: denied.detail });
      }
    }
    const closing = closingOf(client);
    let verdict: Verdict<object>;
    try {
      verdict = await decide(throttles, client, {
        mode: "consume",
        departure: closing,
        shadow: this.shadow,
      });
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

/** `true` for an exempt connection, `false` for one to decide, the error for a denied one. */
async function deniedOrExempt(
  access: AccessCheck<object>,
  connection: object,
): Promise<boolean | ConnectionDenied> {
  try {
    return (await access(connection)) === true;
  } catch (error) {
    if (error instanceof ConnectionDenied) return error;
    throw error;
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
