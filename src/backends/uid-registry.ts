import { ConfigurationError } from "../errors.js";

/**
 * Which live throttle uses each uid on one backend: two throttles on one uid would share
 * counters. Owners are held weakly, so a throttle that is gone frees its uid. @internal
 */
export class UidRegistry {
  private readonly owners = new Map<string, WeakRef<object>>();

  /** `backend` names the backend in errors. */
  constructor(private readonly backend: string) {}

  /**
   * Records that `owner` uses `uid`.
   * @throws {ConfigurationError} when another live owner already uses it.
   */
  claim(uid: string, owner: object): void {
    const existing = this.owners.get(uid)?.deref();
    if (existing === owner) return;
    if (existing !== undefined) {
      throw new ConfigurationError(
        `Two throttles use uid "${uid}" on backend "${this.backend}"; they would share counters. Give each throttle its own uid.`,
      );
    }
    this.owners.set(uid, new WeakRef(owner));
  }
}
