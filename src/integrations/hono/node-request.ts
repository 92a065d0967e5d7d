import type { AddressableConnection } from "../../identity/client-address.js";

/** What `@hono/node-server` puts in a Context's `env`: the Node request, at the top or under `server`. */
interface HonoNodeBindings {
  readonly incoming?: AddressableConnection | undefined;
  readonly server?: { readonly incoming?: AddressableConnection | undefined } | undefined;
}

/**
 * The Node request behind a Hono Context on `@hono/node-server`, so that the default identifier
 * finds the client address there; `undefined` for anything else (other runtimes keep none).
 */
export function honoNodeRequest(connection: object): AddressableConnection | undefined {
  const env = (connection as { readonly env?: HonoNodeBindings | null }).env;
  if (typeof env !== "object" || env === null) return undefined;
  return env.incoming ?? env.server?.incoming;
}
