import type { ClientLink } from "./client-link.js";
import { isRefusal } from "./connection.js";

/** A client's events, as both libraries offer them. */
interface Events {
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
}

/**
 * Resolves on the client's `ready` event; rejects on its `end` event (it gave up) or after
 * `timeoutMs`, saying `state()`. Leaves no listener or timer behind either way.
 */
export function readyEvent(client: Events, timeoutMs: number, state: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("end", onEnd);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onReady = () => settle();
    const onEnd = () => settle(new Error("the client gave up connecting"));
    const timer = setTimeout(
      () => settle(new Error(`not ready within ${timeoutMs} ms (${state()})`)),
      timeoutMs,
    );
    client.on("ready", onReady);
    client.on("end", onEnd);
  });
}

/** What a client told on its "error" event while connecting (see {@link watchErrors}). */
export interface ToldErrors {
  /** Rejects with the first refusal told (a wrong password, a user without rights). */
  readonly refused: Promise<never>;
  /** The last error told, if any. */
  told(): unknown;
  /** Stops listening. */
  stop(): void;
}

/**
 * Listens to `link`'s errors while it connects: a refused password is told only there.
 * ioredis's `connect()` then fails with "Connection is closed."; node-redis's goes on
 * retrying, so the refusal must end the wait.
 */
export function watchErrors(link: ClientLink): ToldErrors {
  let told: unknown;
  let refuse: (error: unknown) => void = () => {};
  const refused = new Promise<never>((_, reject) => {
    refuse = reject;
  });
  refused.catch(() => {});
  const stop = link.onError((error: unknown) => {
    told = error;
    if (isRefusal(error)) refuse(error);
  });
  return { refused, told: () => told, stop };
}
