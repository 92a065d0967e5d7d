/**
 * The speed trick of the Hono adapter: on `@hono/node-server`, the rate-limit headers go
 * straight onto the Node response (`setHeader`), which `writeHead` merges into whatever
 * Response the handlers return (theirs winning), instead of into the Context's `Headers`.
 * A Context given a header makes every Response built with it carry a Fetch `Headers`, which
 * the server must convert back for Node, and the handler's own `new Response(...)` would lack
 * them. Profiled under `bench:http` (hello world, fixed window, share of the server's CPU):
 * through the Context, `c.header`, undici's `Headers`, `buildOutgoingHttpHeaders` and the
 * check for headers a Response lacks took 3.5–4%; `setHeader` on the Node response takes 1.9%.
 *
 * @module
 */
import type { Context } from "hono";
import type { HeaderList } from "../shared/rate-limit-headers.js";

/** The slice of the Node response `@hono/node-server` puts in a Context's `env`. */
interface NodeOutgoing {
  readonly headersSent: boolean;
  setHeader(name: string, value: string): unknown;
}

/**
 * Sets `headers` on the Node response behind `c`, when there is one that has not sent its
 * head; `false` (nothing set) elsewhere: other runtimes, or no Node response.
 */
export function writeToNodeResponse(c: Context, headers: HeaderList): boolean {
  const env = (c as { readonly env?: { readonly outgoing?: NodeOutgoing } | null }).env;
  const outgoing = typeof env === "object" && env !== null ? env.outgoing : undefined;
  if (outgoing === undefined || typeof outgoing.setHeader !== "function" || outgoing.headersSent) {
    return false;
  }
  for (const [name, value] of headers) outgoing.setHeader(name, value);
  return true;
}
