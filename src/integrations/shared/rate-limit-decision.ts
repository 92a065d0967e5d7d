import type { Rate } from "../../rate.js";
import type { Decision } from "../../throttles/decision.js";
import { mostRestrictive } from "./rate-limit-headers.js";

/** The throttle whose decision a {@link RateLimitDecision} reports. */
export interface RateLimitPolicy {
  /** The throttle's `uid`, as the `RateLimit` headers name it. */
  readonly uid: string;
  /** The throttle's rate. */
  readonly rate: Rate;
  /** The name of the throttle's strategy, as events name it (e.g. `"fixed-window"`). */
  readonly strategy: string;
}

/**
 * The rate limit as it stands for one request, where its handler can read it (`req.traffik`,
 * `c.get("traffik")`, `ctx.state.traffik`, NestJS's `@RateLimitDecision()`). The top-level
 * fields are those of the most restrictive decision, the one the single-limit header formats
 * report: a rejection with the longest wait, else the fewest units remaining; decisions a
 * backend did not take (an exempt client, an `onError` answer) count only when no other was
 * taken. `decisions` holds every decision taken on the request, the app's middleware throttles
 * first, then the route's.
 */
export interface RateLimitDecision {
  /** Whether every throttle applied so far admitted the request. */
  readonly allowed: boolean;
  /** The most units the client can hold at once. */
  readonly limit: number;
  /** Whole units the client could still use right now. */
  readonly remaining: number;
  /** When rejected: whole ms to wait before retrying; else 0. */
  readonly retryAfterMs: number;
  /** Whole ms until the client's full quota is back. */
  readonly resetAfterMs: number;
  /**
   * When the client's full quota is back: `resetAfterMs` from the moment this field is first
   * read (so, read in the handler, it errs a little late, never early).
   */
  readonly resetAt: Date;
  /** The throttle that decided the fields above. */
  readonly policy: RateLimitPolicy;
  /** Every decision taken on the request, in order: the app's throttles, then the route's. */
  readonly decisions: readonly Decision[];
}

/** What a decision's throttle tells its {@link RateLimitPolicy}. */
interface PolicySource {
  readonly uid: string;
  readonly strategy: { readonly name: string };
}

/**
 * A request's decisions, read as a {@link RateLimitDecision}. The fields are computed when
 * read, so a request whose handler reads none pays for none. @internal
 */
export class RecordedDecisions implements RateLimitDecision {
  private chosenDecision: Decision | undefined;
  private resetDate: Date | undefined;

  constructor(
    /** The decisions so far: the first step's, a fresh array, grown by {@link record}. */
    readonly decisions: Decision[],
    /** The throttles consulted, where each decision's strategy is found; never mutated. */
    private throttles: readonly PolicySource[],
  ) {}

  /** Adds the decisions of another step of the request (the route's, after the app's). */
  record(decisions: readonly Decision[], throttles: readonly PolicySource[]): void {
    this.decisions.push(...decisions);
    this.throttles = [...this.throttles, ...throttles];
    this.chosenDecision = undefined;
    this.resetDate = undefined;
  }

  get allowed(): boolean {
    return this.decisions.every((decision) => decision.allowed);
  }

  get limit(): number {
    return this.chosen().limit;
  }

  get remaining(): number {
    return this.chosen().remaining;
  }

  get retryAfterMs(): number {
    return this.chosen().retryAfterMs;
  }

  get resetAfterMs(): number {
    return this.chosen().resetAfterMs;
  }

  get resetAt(): Date {
    this.resetDate ??= new Date(Date.now() + this.resetAfterMs);
    return this.resetDate;
  }

  get policy(): RateLimitPolicy {
    const { uid, rate } = this.chosen();
    const strategy = this.throttles.find((throttle) => throttle.uid === uid)?.strategy.name;
    return { uid, rate, strategy: strategy ?? "" };
  }

  /** The fields as plain data, for `JSON.stringify` and loggers. */
  toJSON(): Omit<RateLimitDecision, "resetAt"> & { resetAt: string } {
    return {
      allowed: this.allowed,
      limit: this.limit,
      remaining: this.remaining,
      retryAfterMs: this.retryAfterMs,
      resetAfterMs: this.resetAfterMs,
      resetAt: this.resetAt.toISOString(),
      policy: this.policy,
      decisions: this.decisions,
    };
  }

  private chosen(): Decision {
    if (this.chosenDecision === undefined) {
      const counted = this.decisions.filter((decision) => decision.source === "backend");
      this.chosenDecision = mostRestrictive(counted.length > 0 ? counted : this.decisions);
    }
    return this.chosenDecision;
  }
}
