import type { Context } from "hono";
import {
  type NodeResponse,
  nodeResponseEnding,
  type ResponseEnding,
  type ResponseOutcome,
} from "../shared/refunds.js";

/**
 * How a Hono response ended, for refunds: on `@hono/node-server`, the Node response's own
 * `finish` or `close` (a client gone while the body streamed counts); elsewhere, the status of
 * the Response the handlers made, told by the middleware once they are done (`settle`), and a
 * failure when the request's signal aborted. @internal
 */
export class HonoResponseEnding implements ResponseEnding {
  private tell: ResponseOutcome | undefined;
  private readonly node: ResponseEnding | undefined;

  constructor(private readonly c: Context) {
    const env = (c as { readonly env?: { readonly outgoing?: NodeResponse } | null }).env;
    const outgoing = typeof env === "object" && env !== null ? env.outgoing : undefined;
    this.node = outgoing === undefined ? undefined : nodeResponseEnding(outgoing);
  }

  watch(then: ResponseOutcome): void {
    if (this.node !== undefined) this.node.watch(then);
    else this.tell = then;
  }

  /**
   * The handlers are done, or a 429 was made (its `status`): the outcome, where no Node
   * response tells it.
   */
  settle(status = this.c.res.status): void {
    const tell = this.tell;
    this.tell = undefined;
    tell?.(status, !this.c.req.raw.signal.aborted);
  }
}
