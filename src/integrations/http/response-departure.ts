import type { Departure } from "../../throttles/turn.js";

/** The slice of a `node:http` `ServerResponse` watched here. */
export interface ClosingResponse {
  readonly destroyed: boolean;
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

/** What a wait for a turn rejects with when its client closed the connection. */
const CLIENT_GONE = new Error("The client closed the connection before its turn came.");

/**
 * The departure of the client of a `node:http` response (Express, Fastify's `reply.raw`): a
 * response that closes while its request waits for its turn was not sent, so its client has
 * gone (or another middleware answered it): either way nobody is left to serve. @internal
 */
export class ResponseDeparture implements Departure {
  readonly reason = CLIENT_GONE;

  constructor(private readonly response: ClosingResponse) {}

  get gone(): boolean {
    return this.response.destroyed;
  }

  watch(onGone: () => void): () => void {
    this.response.once("close", onGone);
    return () => this.response.off("close", onGone);
  }
}
