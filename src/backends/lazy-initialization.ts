/**
 * Runs a backend's `initialize()` once, on first need, and lets callers skip awaiting once it
 * has succeeded; a failure is not remembered, so the next call tries again. @internal
 */
export class LazyInitialization {
  private running: Promise<void> | undefined;
  private done = false;

  constructor(private readonly initialize: () => Promise<void>) {}

  /** `undefined` once initialisation has succeeded, else the promise of it (started once). */
  ready(): Promise<void> | undefined {
    if (this.done) return undefined;
    this.running ??= this.initialize().then(
      () => {
        this.done = true;
      },
      (error: unknown) => {
        this.running = undefined;
        throw error;
      },
    );
    return this.running;
  }
}
