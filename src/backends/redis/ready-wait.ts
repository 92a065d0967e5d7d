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
