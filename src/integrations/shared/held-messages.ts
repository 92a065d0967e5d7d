/** One held message: being decided, or admitted (with its verdict) and waiting for `onMessage`. */
export interface HeldMessage<M, V> {
  readonly message: M;
  admitted: boolean;
  verdict: V | undefined;
}

/**
 * The admitted messages of one socket on their way to `onMessage`, in arrival order, one at a
 * time: when `onMessage` returns a promise, the next message waits for it. A message is held
 * from its arrival until `onMessage` takes it (or it is rejected, or the socket closes), so
 * {@link size} is what the socket holds in memory; the guard bounds it. @internal
 */
export class HeldMessages<M, V = unknown> {
  /** Held messages, in arrival order; a bounded few, so shifting and splicing are cheap. */
  private readonly held: HeldMessage<M, V>[] = [];
  /** Whether `onMessage` is still working on a message. */
  private busy = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly onMessage: (message: M, verdict: V) => unknown,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Messages held now. */
  get size(): number {
    return this.held.length;
  }

  /** Holds a message while it is decided; {@link admit} or {@link drop} it then. */
  hold(message: M): HeldMessage<M, V> {
    const entry: HeldMessage<M, V> = { message, admitted: false, verdict: undefined };
    this.held.push(entry);
    return entry;
  }

  /** Delivers an admitted message now if nothing is ahead of it, else holds it in line. */
  deliverInTurn(message: M, verdict: V): void {
    if (this.held.length === 0 && !this.busy) this.deliver(message, verdict);
    else this.held.push({ message, admitted: true, verdict });
  }

  /** A held message was admitted: it is delivered once every message before it has been. */
  admit(entry: HeldMessage<M, V>, verdict: V): void {
    entry.admitted = true;
    entry.verdict = verdict;
    this.drain();
  }

  /** A held message will not be delivered (rejected, failed, or its wait abandoned). */
  drop(entry: HeldMessage<M, V>): void {
    const index = this.held.indexOf(entry);
    if (index !== -1) this.held.splice(index, 1);
    this.drain();
  }

  /** Drops every held message: the socket is closing. */
  clear(): void {
    this.held.length = 0;
    this.drain();
  }

  /** Resolves once nothing is held and `onMessage` has finished. */
  settled(): Promise<void> {
    if (this.held.length === 0 && !this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private drain(): void {
    while (!this.busy && this.held[0]?.admitted === true) {
      const { message, verdict } = this.held.shift() as HeldMessage<M, V>;
      this.deliver(message, verdict as V);
    }
    if (this.busy || this.held.length > 0 || this.idle.length === 0) return;
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }

  private deliver(message: M, verdict: V): void {
    let result: unknown;
    try {
      result = this.onMessage(message, verdict);
    } catch (error) {
      this.onError(error);
      return;
    }
    if (typeof (result as PromiseLike<unknown> | undefined)?.then !== "function") return;
    this.busy = true;
    const finished = () => {
      this.busy = false;
      this.drain();
    };
    Promise.resolve(result).then(finished, (error: unknown) => {
      this.onError(error);
      finished();
    });
  }
}
