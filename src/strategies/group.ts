import type { Rate } from "../rate.js";
import type { Step, Strategy, StrategyState } from "./strategy.js";

/** One request of an all-or-nothing group, with where its state lives and what is there now. */
export interface GroupMember<K> {
  /** Where the state lives; members with equal keys (`===`: a string, say) share one state. */
  readonly key: K;
  readonly strategy: Strategy;
  readonly rate: Rate;
  readonly cost: number;
  /** The state stored at `key` before the group (`undefined` for none). */
  readonly state: StrategyState | undefined;
}

/** A state to store once the group is admitted: `key`'s new state, from member `member`. */
export interface GroupCommit<K> {
  readonly key: K;
  /** The index of the last admitted member on `key`: its step's state is the one to store. */
  readonly member: number;
  readonly state: StrategyState;
}

/** What {@link stageGroup} decided. */
export interface StagedGroup<K> {
  /** One step per member, in order. */
  readonly steps: Step[];
  /** The states to store, one per key in the order keys first appear; empty unless all admitted. */
  readonly commits: GroupCommit<K>[];
}

/**
 * Decides a group all or nothing, storing nothing itself: every member is decided in order at
 * `now`, a member on a key an earlier admitted member staged sees that staged state (a throttle
 * may appear twice), and the group's states are to be stored only if every member is admitted.
 * A rejection leaves every state as it was, and an admitted step's empty state is not stored. The one copy of this rule: the lock path, the
 * in-memory backend and Memcached's compare-and-swap rounds call it; Redis mirrors it in Lua,
 * and its parity tests hold it to this.
 */
export function stageGroup<K>(members: readonly GroupMember<K>[], now: number): StagedGroup<K> {
  const steps: Step[] = [];
  let admitted = true;
  for (let i = 0; i < members.length; i++) {
    const member = members[i] as GroupMember<K>;
    const earlier = lastAdmitted(members, steps, member.key, i);
    const state = earlier === -1 ? member.state : (steps[earlier] as Step).state;
    const step = member.strategy.apply(state, now, member.cost, member.rate);
    if (!step.allowed) admitted = false;
    steps.push(step);
  }
  const commits: GroupCommit<K>[] = [];
  if (admitted) {
    for (let i = 0; i < members.length; i++) {
      const { key } = members[i] as GroupMember<K>;
      // Once per key, where it first appears: its last member (all are admitted) holds its state.
      if (lastAdmitted(members, steps, key, i) !== -1) continue;
      const member = lastAdmitted(members, steps, key, members.length);
      const state = (steps[member] as Step).state;
      // An empty state is nothing to keep (a ban's member that admits, see `ban.ts`).
      if (state.length > 0) commits.push({ key, member, state });
    }
  }
  return { steps, commits };
}

/**
 * The index of the last admitted member on `key` before `before`, or -1. A scan: groups are a
 * few members (one per throttle), and it spares each decision a Map.
 */
function lastAdmitted<K>(
  members: readonly GroupMember<K>[],
  steps: readonly Step[],
  key: K,
  before: number,
): number {
  for (let j = before - 1; j >= 0; j--) {
    if ((members[j] as GroupMember<K>).key === key && (steps[j] as Step).allowed) return j;
  }
  return -1;
}
