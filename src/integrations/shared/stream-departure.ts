import type { Departure } from "../../throttles/turn.js";

/**
 * The slice of what closes with its client, watched here: a `node:http` `ServerResponse`, or
 * the raw socket of an upgrade request.
 */
export interface ClosingStream {
  readonly destroyed: boolean;
  once(event: "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

/** What a wait for a turn rejects with when its client closed the connection. */
const CLIENT_GONE = new Error("The client closed the connection before its turn came.");

/**
 * The departure of the client of a `node:http` response (Express, Fastify's `reply.raw`,
 * NestJS) or of an upgrade request's socket. A response that closes while its request waits
 * for its turn was not sent: its client has gone (or another middleware answered it), and
 * either way nobody is left to serve. @internal
 */
export class StreamDeparture implements Departure {
  readonly reason = CLIENT_GONE;

  constructor(private readonly stream: ClosingStream) {}

  get gone(): boolean {
    return this.stream.destroyed;
  }

  watch(onGone: () => void): () => void {
    this.stream.once("close", onGone);
    return () => this.stream.off("close", onGone);
  }
}
