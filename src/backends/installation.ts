import { AsyncLocalStorage } from "node:async_hooks";

/** Where {@link Installation.attach} puts a backend on a connection object. */
const ATTACHED = Symbol.for("traffik.backend");

type Attached<B> = { [ATTACHED]?: B };

/**
 * Finding the backend for a call made without one: installed around the call
 * (AsyncLocalStorage), or attached to the connection object. One per process, for every
 * backend; `ThrottleBackend`'s `run`, `attachTo`, `current` and `attachedTo` delegate here.
 * @internal
 */
export class Installation<B extends object> {
  private readonly installed = new AsyncLocalStorage<B>();

  /** Runs `fn` with `backend` installed for everything it does, sync or async. */
  run<T>(backend: B, fn: () => T): T {
    return this.installed.run(backend, fn);
  }

  /** The backend installed by the innermost {@link run} around the caller, if any. */
  current(): B | undefined {
    return this.installed.getStore();
  }

  /** Attaches `backend` to `connection`. */
  attach(connection: object, backend: B): void {
    // A symbol-keyed property, not a WeakMap: one per request is cheap to add, while WeakMap
    // entries for short-lived keys weigh on every garbage collection.
    (connection as Attached<B>)[ATTACHED] = backend;
  }

  /** The backend attached to `connection`, if any. */
  attachedTo(connection: unknown): B | undefined {
    return typeof connection === "object" && connection !== null
      ? (connection as Attached<B>)[ATTACHED]
      : undefined;
  }
}
