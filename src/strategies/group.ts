import type { Rate } from "../rate.js";
import type { Step, Strategy, StrategyState } from "./strategy.js";

/** One request of an all-or-nothing group, with where its state lives and what is there now. */
export interface GroupMember<K> {
  /** Where the state lives; members with equal keys share one state. */
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
 * A rejection leaves every state as it was. The one copy of this rule: the lock path, the
 * in-memory backend and Memcached's compare-and-swap rounds call it; Redis mirrors it in Lua,
 * and its parity tests hold it to this.
 */
export function stageGroup<K>(members: readonly GroupMember<K>[], now: number): StagedGroup<K> {
  // Each key's last admitted member so far: a later member on the key starts from its state.
  const staged = new Map<K, number>();
  const steps: Step[] = [];
  let admitted = true;
  for (const member of members) {
    const earlier = staged.get(member.key);
    const state = earlier === undefined ? member.state : (steps[earlier] as Step).state;
    const step = member.strategy.apply(state, now, member.cost, member.rate);
    if (step.allowed) staged.set(member.key, steps.length);
    else admitted = false;
    steps.push(step);
  }
  const commits: GroupCommit<K>[] = [];
  if (admitted) {
    for (const [key, member] of staged) {
      commits.push({ key, member, state: (steps[member] as Step).state });
    }
  }
  return { steps, commits };
}
