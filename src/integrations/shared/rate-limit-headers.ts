import type { Rate } from "../../rate.js";
import type { Decision } from "../../throttles/decision.js";

/**
 * Which rate-limit header fields to send:
 * - `"draft-11"`: `RateLimit` and `RateLimit-Policy` as structured-field lists with one named
 *   item per throttle (draft-ietf-httpapi-ratelimit-headers-08 to -11, unchanged syntax);
 * - `"draft-7"`: one `RateLimit: limit=, remaining=, reset=` dictionary and an integer-list policy;
 * - `"draft-6"`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, `RateLimit-Policy`;
 * - `"legacy"`: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds);
 * - `false`: none (a throttled response still carries `Retry-After`).
 */
export type HeaderFormat = "draft-11" | "draft-7" | "draft-6" | "legacy" | false;

/** Header name and value pairs, in the order to send them. */
export type HeaderList = readonly (readonly [name: string, value: string])[];

const NO_HEADERS: HeaderList = [];

/**
 * The rate-limit headers for the decisions taken on one request. Only enforced decisions that
 * came from a backend count: an exempt client, a failed backend or a shadow throttle has no
 * quota worth reporting. Formats with
 * room for one limit report the most restrictive: a rejection with the longest wait, else the
 * fewest remaining units.
 */
export function rateLimitHeaders(decisions: readonly Decision[], format: HeaderFormat): HeaderList {
  if (format === false) return NO_HEADERS;
  // A shadow throttle's limit is not applied: a client told of it would back off for nothing.
  const counted =
    decisions.length === 1 && decisions[0]?.source === "backend" && !decisions[0].shadow
      ? decisions
      : decisions.filter((decision) => decision.source === "backend" && !decision.shadow);
  if (counted.length === 0) return NO_HEADERS;
  switch (format) {
    case "draft-11":
      return [
        ["RateLimit", list(counted, serviceLimitItem)],
        ["RateLimit-Policy", list(counted, policyItem)],
      ];
    case "draft-7": {
      const d = mostRestrictive(counted);
      return [
        [
          "RateLimit",
          `limit=${d.limit}, remaining=${d.remaining}, reset=${seconds(effectiveMs(d))}`,
        ],
        ["RateLimit-Policy", list(counted, integerPolicy)],
      ];
    }
    case "draft-6": {
      const d = mostRestrictive(counted);
      return [
        ["RateLimit-Limit", String(d.limit)],
        ["RateLimit-Remaining", String(d.remaining)],
        ["RateLimit-Reset", String(seconds(effectiveMs(d)))],
        ["RateLimit-Policy", list(counted, integerPolicy)],
      ];
    }
    case "legacy": {
      const d = mostRestrictive(counted);
      return [
        ["X-RateLimit-Limit", String(d.limit)],
        ["X-RateLimit-Remaining", String(d.remaining)],
        ["X-RateLimit-Reset", String(Math.ceil((Date.now() + effectiveMs(d)) / 1000))],
      ];
    }
  }
}

/**
 * When the client's quota is back: for a rejection, the retry time (so `t` never points earlier
 * than `Retry-After`, as the draft asks); otherwise when the full quota is back.
 */
function effectiveMs(decision: Decision): number {
  return decision.allowed ? decision.resetAfterMs : decision.retryAfterMs;
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/**
 * The decision a single-limit format reports: a rejection with the longest wait, else the fewest
 * units remaining. `decisions` must not be empty. @internal
 */
export function mostRestrictive(decisions: readonly Decision[]): Decision {
  let chosen = decisions[0] as Decision;
  for (const d of decisions) {
    const worse = chosen.allowed
      ? !d.allowed || d.remaining < chosen.remaining
      : !d.allowed && d.retryAfterMs > chosen.retryAfterMs;
    if (worse) chosen = d;
  }
  return chosen;
}

function serviceLimitItem(decision: Decision): string {
  return `${policyName(decision.uid)};r=${decision.remaining};t=${seconds(effectiveMs(decision))}`;
}

/** A structured-field list of one item per decision. */
function list(decisions: readonly Decision[], item: (decision: Decision) => string): string {
  return decisions.length === 1 ? item(decisions[0] as Decision) : decisions.map(item).join(", ");
}

const policyItems = new WeakMap<Rate, Map<string, Map<number, string>>>();

/** The policy item made last, and what it was made of: most requests ask for it again. */
let lastPolicy: { rate: Rate; uid: string; limit: number; item: string } | undefined;

/** Policies are named by throttle uid; the draft's `w` is whole seconds, so `q` is scaled to it. */
function policyItem(decision: Decision): string {
  const { rate, uid, limit } = decision;
  const last = lastPolicy;
  if (last !== undefined && last.rate === rate && last.uid === uid && last.limit === limit) {
    return last.item;
  }
  let byUid = policyItems.get(rate);
  if (byUid === undefined) {
    byUid = new Map();
    policyItems.set(rate, byUid);
  }
  // A uid's capacity is fixed by its throttle; it is in the key for uids reused across apps.
  let byLimit = byUid.get(uid);
  if (byLimit === undefined) {
    byLimit = new Map();
    byUid.set(uid, byLimit);
  }
  let item = byLimit.get(limit);
  if (item === undefined) {
    const { q, w } = policyQuota(decision);
    item = `${policyName(uid)};q=${q};w=${w}`;
    byLimit.set(limit, item);
  }
  lastPolicy = { rate, uid, limit, item };
  return item;
}

function integerPolicy(decision: Decision): string {
  const { q, w } = policyQuota(decision);
  return `${q};w=${w}`;
}

/**
 * The policy as a quota per whole seconds (the draft has no sub-second windows):
 * `"1000/500ms"` is q=2000 per w=1. A strategy that holds more or fewer units than the
 * rate's limit at once (a burst, a debt, a queue) states its capacity over the time the rate
 * takes to refill it: a token bucket of 300 at `"60/m"` is q=300 per w=300, so `r` never
 * exceeds `q`. Otherwise the quota is the rate itself.
 */
function policyQuota({ rate, limit: capacity }: Decision): { q: number; w: number } {
  const windowMs = (rate.windowMs * capacity) / rate.limit;
  const w = Math.max(1, Math.ceil(windowMs / 1000));
  const q = windowMs === w * 1000 ? capacity : Math.floor((capacity * w * 1000) / windowMs);
  return { q, w };
}

const policyNames = new Map<string, string>();

/** A structured-field String: uids are plain, but quote-escape anyway so no name breaks the list. */
function policyName(uid: string): string {
  let name = policyNames.get(uid);
  if (name === undefined) {
    name = `"${uid.replace(/[\\"]/g, "\\$&")}"`;
    policyNames.set(uid, name);
  }
  return name;
}
