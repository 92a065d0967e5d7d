/**
 * Bans (`throttle.block()`), decided with the requests they stop. A throttle built with
 * `blocking: true` keeps each client's ban under a key of its own (`BAN_STRATEGY`), and every
 * decision of the throttle sends the ban just before the throttle's own request, in the same
 * all-or-nothing group: one atomic call on every backend (on Redis one script call with one
 * more key), so a ban is shared by every process and a banned request counts nothing. Kept
 * apart from the throttle's counts, a ban is not lifted by a reward or a refund. A throttle
 * without `blocking` never reaches this module.
 *
 * Why not the strategy's own state: a fixed window or a sliding log cannot hold a wait longer
 * than their window, a bucket cannot say "rejected until then, then afresh", and a refund
 * given back to a banned client would open its ban early.
 *
 * @module
 */
import { BAN_STRATEGY } from "../strategies/ban.js";
import type { Step } from "../strategies/strategy.js";
import type { PreparedRequest } from "./prepare.js";

/** The key space of a throttle's bans: `+` is no character of a uid, so none collides. @internal */
export function banUid(uid: string): string {
  return `${uid}+ban`;
}

/** The ban of `request`'s client in its throttle, at the request's cost and mode. @internal */
export function banOf(request: PreparedRequest): PreparedRequest {
  return { ...request, uid: banUid(request.uid), strategy: BAN_STRATEGY };
}

/** A group with its bans: the requests to send, and the members' steps from their answers. */
export interface BannedGroup {
  readonly requests: readonly PreparedRequest[];
  fold(steps: readonly Step[]): Step[];
}

/**
 * The group of `requests` with each blocking one's ban just before it (`blocking[i]`), or
 * `undefined` when none blocks: then the group is sent as it is. @internal
 */
export function withBans(
  requests: readonly PreparedRequest[],
  blocking: (index: number) => boolean,
): BannedGroup | undefined {
  let any = false;
  for (let i = 0; i < requests.length && !any; i++) any = blocking(i);
  if (!any) return undefined;
  const sent: PreparedRequest[] = [];
  requests.forEach((request, i) => {
    if (blocking(i)) sent.push(banOf(request));
    sent.push(request);
  });
  return {
    requests: sent,
    fold(steps) {
      const folded: Step[] = [];
      let at = 0;
      requests.forEach((_, i) => {
        const ban = blocking(i) ? (steps[at++] as Step) : undefined;
        const own = steps[at++] as Step;
        folded.push(ban === undefined ? own : banned(ban, own));
      });
      return folded;
    },
  };
}

/**
 * A member's step given its ban's: its own while not banned; else rejected, nothing left,
 * told to wait out the ban (or its own wait, if longer). Its state stays its own, which a
 * rejected group does not store.
 */
function banned(ban: Step, own: Step): Step {
  if (ban.allowed) return own;
  return {
    ...own,
    allowed: false,
    remaining: 0,
    retryAfterMs: Math.max(ban.retryAfterMs, own.allowed ? 0 : own.retryAfterMs),
    resetAfterMs: Math.max(ban.resetAfterMs, own.resetAfterMs),
    delayMs: 0,
  };
}
