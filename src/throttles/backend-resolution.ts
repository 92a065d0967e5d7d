import { ThrottleBackend } from "../backends/base.js";
import { decidingBackend } from "../backends/degraded/deciding.js";
import { ConfigurationError } from "../errors.js";

/**
 * Finds the backend for each call of one throttle, and remembers the one it last met (on which
 * it has claimed its uid) and what decides there (itself, or itself in degraded mode): most
 * calls meet the same one again. @internal
 */
export class BackendResolution {
  private last: ThrottleBackend | undefined;
  private lastDeciding: ThrottleBackend | undefined;

  constructor(
    private readonly uid: string,
    private readonly own: ThrottleBackend | undefined,
    private readonly dynamic: boolean,
    private readonly owner: object,
  ) {
    if (own !== undefined) this.meet(own);
  }

  /**
   * The backend for this call: the throttle's own (unless `dynamic` and one is installed), else
   * the one installed by `backend.run()`, else the one attached to the connection.
   * @throws {ConfigurationError} when there is none, or it is closed.
   */
  resolve(connection: unknown): ThrottleBackend {
    let backend = this.own;
    if (backend === undefined || this.dynamic) {
      backend = ThrottleBackend.current() ?? ThrottleBackend.attachedTo(connection) ?? backend;
      if (backend === undefined) {
        throw new ConfigurationError(
          `Throttle "${this.uid}" has no backend: pass \`backend\` to it, run the app inside \`backend.run(...)\`, or install it with a framework's ThrottleMiddleware.`,
        );
      }
    }
    if (backend.isClosed) {
      throw new ConfigurationError(
        `Throttle "${this.uid}": backend "${backend.namespace}" is closed; a closed backend is never used again. Give the throttle (or the app) a backend that is open.`,
      );
    }
    this.meet(backend);
    return backend;
  }

  /** What decides on `backend`: itself, or itself in degraded mode. */
  deciding(backend: ThrottleBackend): ThrottleBackend {
    // Another call may have met another backend since this one resolved `backend`.
    return backend === this.last
      ? (this.lastDeciding as ThrottleBackend)
      : decidingBackend(backend);
  }

  /** Claims the uid on `backend`, once for as long as it is the one met. */
  private meet(backend: ThrottleBackend): void {
    if (backend === this.last) return;
    backend.claim(this.uid, this.owner);
    this.last = backend;
    this.lastDeciding = decidingBackend(backend);
  }
}
