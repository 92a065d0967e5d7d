import { BackendError, TraffikError } from "../../errors.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { ThrottleBackend } from "../base.js";
import { InMemoryBackend } from "../inmemory/backend.js";
import type { DecisionMode, DecisionRequest, Lock, LockOptions } from "../types.js";
import type { DegradableBackend, DegradedModeOptions } from "./options.js";
import { Outages } from "./outages.js";

/** A step decided in-process while the shared backend was out. */
export interface DegradedStep extends Step {
  readonly degraded: true;
}

/** Whether an error is an outage (a failure or a timeout), not a misconfiguration. */
const isOutage = (error: unknown): boolean =>
  error instanceof BackendError || !(error instanceof TraffikError);

const markDegraded = (step: Step): DegradedStep => ({ ...step, degraded: true });

/** The node that is out while the shared backend has not initialized: all of it. */
const WHOLE = "";

/**
 * A shared backend in degraded mode (see {@link DegradedModeOptions}): decisions go to it
 * while it answers; a node's outage (a failure or a timeout of a call to it) hands that node's
 * requests to the in-process fallback at once, and a probe every `probeIntervalMs` hands them
 * back. Requests decided in-process are never charged to the shared backend later: its calls
 * carry their deadline, past which they write nothing. Everything but decisions goes to the
 * shared backend. @internal
 */
export class DegradedModeBackend extends ThrottleBackend {
  private readonly fallback: ThrottleBackend;
  private readonly outages: Outages;
  /** Whether the shared backend has initialized; until then, its failing to is an outage. */
  private initialized = false;

  constructor(
    private readonly shared: ThrottleBackend & DegradableBackend,
    options: DegradedModeOptions,
    now?: () => number,
  ) {
    super({ namespace: shared.namespace, persistent: true, timeoutMs: shared.timeoutMs });
    this.fallback = options.fallback ?? new InMemoryBackend({ namespace: shared.namespace });
    this.outages = new Outages(
      shared.namespace,
      options.probeIntervalMs ?? 250,
      shared.timeoutMs,
      now,
      shared.logger,
    );
  }

  /** How many of the shared backend's nodes are out now. */
  get nodesOut(): number {
    return this.outages.count;
  }

  override decideThen<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    if (!this.initialized) {
      if (this.outages.route(WHOLE) === "fallback")
        return this.decideInProcess(request, mode, map, recover);
      return this.initializeThen(
        () => this.decideThen(request, mode, map, recover),
        (sentAt, error) => this.decideWithout(WHOLE, sentAt, error, request, mode, map, recover),
      );
    }
    const outages = this.outages;
    if (outages.none()) {
      return this.shared.decideThen(request, mode, map, (error) =>
        this.decideWithout(
          this.nodeOf(request),
          Number.NEGATIVE_INFINITY,
          error,
          request,
          mode,
          map,
          recover,
        ),
      );
    }
    const node = this.nodeOf(request);
    if (outages.route(node) === "fallback")
      return this.decideInProcess(request, mode, map, recover);
    const sentAt = outages.sentAt();
    return this.shared.decideThen(
      request,
      mode,
      (step) => {
        outages.answered(node, sentAt);
        return map(step);
      },
      (error) => this.decideWithout(node, sentAt, error, request, mode, map, recover),
    );
  }

  override decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    return this.decideThen(request, mode, (step) => step, rethrow);
  }

  override decideAll(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Step[] | Promise<Step[]> {
    if (!this.initialized) {
      if (this.outages.route(WHOLE) === "fallback") return this.decideAllInProcess(requests, mode);
      return this.initializeThen(
        () => this.decideAll(requests, mode),
        (sentAt, error) => this.decideAllWithout([WHOLE], sentAt, error, requests, mode),
      );
    }
    const nodes = requests.map((request) => this.nodeOf(request));
    // A group is all or nothing in one place: in-process if any of its nodes is out.
    if (nodes.some((node) => this.outages.isOut(node)))
      return this.decideAllInProcess(requests, mode);
    const answer = this.shared.decideAll(requests, mode);
    if (!(answer instanceof Promise)) return answer;
    const sentAt = this.outages.sentAt();
    return this.shared.withinTimeout(answer).then(
      (steps) => {
        for (const node of new Set(nodes)) this.outages.answered(node, sentAt);
        return steps;
      },
      (error: unknown) => this.decideAllWithout(new Set(nodes), sentAt, error, requests, mode),
    );
  }

  /** Decides in-process a group the shared backend failed, when it failed as an outage does. */
  private decideAllWithout(
    nodes: Iterable<string>,
    sentAt: number,
    error: unknown,
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    this.outageOf(nodes, sentAt, error);
    return this.decideAllInProcess(requests, mode);
  }

  /**
   * `nodes` failed, at `sentAt`, as `error` says: an outage; anything else ends their probes
   * (the next request tries again) and is rethrown.
   */
  private outageOf(nodes: Iterable<string>, sentAt: number, error: unknown): void {
    if (!isOutage(error)) {
      for (const node of nodes) this.outages.probeEnded(node, sentAt);
      throw error;
    }
    for (const node of nodes) this.outages.failed(node, error, sentAt);
  }

  private async decideAllInProcess(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    return (await this.fallback.decideAll(requests, mode)).map(markDegraded);
  }

  private decideInProcess<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    return this.fallback.decideThen(request, mode, (step) => map(markDegraded(step)), recover);
  }

  /** Decides in-process a request the shared backend failed, when it failed as an outage does. */
  private decideWithout<R>(
    node: string,
    sentAt: number,
    error: unknown,
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    if (!isOutage(error)) {
      this.outages.probeEnded(node, sentAt);
      return recover(error);
    }
    this.outages.failed(node, error, sentAt);
    return this.decideInProcess(request, mode, map, recover);
  }

  private nodeOf(request: DecisionRequest): string {
    return this.shared.outageNode?.(request) ?? "";
  }

  override ready(): Promise<void> | undefined {
    return this.shared.ready();
  }

  /**
   * The shared backend's initialization, within its deadline. Failing it as an outage does
   * (a server down at startup) begins the outage of the whole backend rather than failing the
   * request: its decisions then go in-process, and one every `probeIntervalMs` tries to
   * initialize it again (see {@link initializeThen}). A misconfiguration still rejects.
   */
  override readyForDecisions(): Promise<void> | undefined {
    return this.initializeOrBeginOutage(true);
  }

  /**
   * As {@link readyForDecisions}, bounded by the shared backend's own steps' deadlines rather
   * than by one for all of them: at an app's startup, a slow but sound start is no outage.
   */
  override readyToServe(): Promise<void> | undefined {
    return this.initializeOrBeginOutage(false);
  }

  /** The shared backend's initialization; failing it as an outage does begins the outage. */
  private initializeOrBeginOutage(withinDeadline: boolean): Promise<void> | undefined {
    if (this.initialized || this.outages.isOut(WHOLE)) return undefined;
    const sentAt = this.outages.sentAt();
    return this.initializeShared(withinDeadline)?.catch((error: unknown) =>
      this.outageOf([WHOLE], sentAt, error),
    );
  }

  /** Initializes the shared backend, within its deadline unless told not to; `undefined` once it has. */
  private initializeShared(withinDeadline = true): Promise<void> | undefined {
    const initializing = this.shared.ready();
    if (initializing === undefined) {
      this.initialized = true;
      return undefined;
    }
    const bounded = withinDeadline ? this.shared.withinTimeout(initializing) : initializing;
    return bounded.then(() => {
      this.initialized = true;
    });
  }

  /**
   * A probe of a shared backend that has not initialized (or the first call to it): `onShared`
   * once it initializes, which ends its outage; `inProcess` with the error if it fails to.
   * Initialized first, the shared backend takes its deadlines on a clock it has synchronised.
   */
  private initializeThen<R>(
    onShared: () => R | Promise<R>,
    inProcess: (sentAt: number, error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    const sentAt = this.outages.sentAt();
    const initialized = () => {
      this.outages.answered(WHOLE, sentAt);
      return onShared();
    };
    const initializing = this.initializeShared();
    if (initializing === undefined) return initialized();
    return initializing.then(initialized, (error: unknown) => inProcess(sentAt, error));
  }

  /** The shared backend's deadlines: one timer list, stopped when that backend closes. */
  override withinTimeout<T, R = T>(
    call: Promise<T>,
    map?: (value: T) => R,
    recover?: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return this.shared.withinTimeout(call, map, recover);
  }

  override now(): number {
    return this.shared.now();
  }

  override async clear(uid: string, identity: string): Promise<void> {
    await Promise.all([this.fallback.clear(uid, identity), this.shared.clear(uid, identity)]);
  }

  override async reset(): Promise<void> {
    await Promise.all([this.fallback.reset(), this.shared.reset()]);
  }

  /**
   * Gives a request's place back where it was taken: the state it left is in the shared
   * backend or in the fallback, and a compare-and-set changes only the one that still holds it.
   */
  override async restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    await Promise.allSettled([
      this.fallback.restoreState(request, admitted, restored),
      this.shared.restoreState(request, admitted, restored),
    ]);
  }

  /**
   * A penalty or reward goes to the shared backend; while it is out, to the fallback, which
   * decides the client's requests then. It is not replayed to the shared backend later.
   */
  override async adjustState(request: DecisionRequest, points: number): Promise<Step> {
    try {
      return await this.shared.adjustState(request, points);
    } catch (error) {
      if (!isOutage(error)) throw error;
      return markDegraded(await this.fallback.adjustState(request, points));
    }
  }

  /** Lets go of the fallback only: the shared backend is its owner's to close. */
  protected override async shutdown(): Promise<void> {
    await this.fallback.close();
  }

  get(key: string): Promise<string | null> {
    return this.shared.get(key);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.shared.set(key, value, ttlMs);
  }

  delete(key: string): Promise<void> {
    return this.shared.delete(key);
  }

  lock(name: string, options?: LockOptions): Promise<Lock> {
    return this.shared.lock(name, options);
  }
}

const rethrow = (error: unknown): never => {
  throw error;
};
