import type { Statements } from "./schema.js";

/** A sweep runs once per this many writing transactions... */
const SWEEP_EVERY = 16;
/** ...and looks at this many keys: at most 4 rows per decision, whatever the table holds. */
const SWEEP_SLICE = 64;

/**
 * Removes expired rows without a timer per key nor a scan of the table: every
 * {@link SWEEP_EVERY}th writing transaction of this process also looks at the next
 * {@link SWEEP_SLICE} keys of its namespace, in key order from where the last sweep stopped,
 * and deletes those that have expired. Expired rows are already treated as absent; the sweep
 * only gives their space back. A cursor per process: processes sweep independently, which
 * costs nothing but an occasional duplicate look.
 */
export class SweepCursor {
  private after: string;
  private writes = 0;

  /** Sweeps the keys in `[first, below)`: one namespace. */
  constructor(
    private readonly first: string,
    private readonly below: string,
  ) {
    this.after = first;
  }

  /** Call inside a writing transaction; sweeps one slice when its turn has come. */
  step(statements: Statements, now: number): void {
    if (++this.writes < SWEEP_EVERY) return;
    this.writes = 0;
    const rows = statements.slice.all(this.after, this.below, SWEEP_SLICE) as {
      key: string;
      expiresAt: number;
    }[];
    for (const row of rows) {
      if (row.expiresAt <= now) statements.remove.run(row.key);
    }
    // A short slice reached the namespace's end: the next sweep starts again at its start.
    this.after =
      rows.length < SWEEP_SLICE ? this.first : (rows[rows.length - 1] as { key: string }).key;
  }
}
