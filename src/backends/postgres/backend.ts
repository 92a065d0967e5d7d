import { BackendError, TraffikError } from "../../errors.js";
import type { Step, StrategyState } from "../../strategies/strategy.js";
import { encodeState } from "../state-codec.js";
import type { DecisionMode, DecisionRequest } from "../types.js";
import { adjustInTransaction } from "./adjust.js";
import { type Mirror, mirrorOf } from "./mirrors.js";
import { failure, listened, type PostgresClient } from "./pool.js";
import { decideGroupQuery, decideOneQuery } from "./queries.js";
import { stepFrom } from "./replies.js";
import { PostgresStore } from "./store.js";
import { decideInTransaction } from "./transaction.js";
import { awaitTurn, type Progress } from "./turn.js";

export type { PostgresBackendOptions } from "./options.js";
export type { PostgresClient, PostgresPool, PostgresQuery } from "./pool.js";

/**
 * Keeps states in a PostgreSQL table through a `pg` pool. Every decision on a built-in
 * strategy, a lone request or a group of throttles all or nothing, is one call of a PL/pgSQL
 * function that mirrors the strategies exactly (in `bigint`) on the server's clock
 * (`clock_timestamp()`), under an advisory lock per key: any number of processes admit
 * exactly what one would. Other strategies are decided by their own `apply` in one
 * transaction under the same locks.
 *
 * `initialize()` creates the table (UNLOGGED by default; see `schema.ts` for its columns, or
 * {@link PostgresBackend.createStatements} to run them yourself) and the function. Expired rows
 * count as absent; a bounded sweep, carried by every hundredth decision, deletes them.
 *
 * Every call has the backend's deadline (`timeoutMs`), and carries it on the server's clock:
 * a decision that runs later (the server was frozen, or far behind) writes nothing, so a
 * request answered by `onError` is never charged. At most `maxPending` calls wait on the
 * server; beyond, `onError` decides at once. While the server is down decisions fail to
 * `onError`; the pool reconnects once it is back.
 */
export class PostgresBackend extends PostgresStore {
  private decisions = 0;
  private sweeping = false;
  private sweepCursor: string | null = null;

  override decide(request: DecisionRequest, mode: DecisionMode): Step | Promise<Step> {
    return this.decideThen(request, mode, sameStep, rethrow);
  }

  /**
   * One function call, its reply shaped by `map` as it arrives. Waiting for a pooled
   * connection is waiting for a turn in this process, not an outage: the deadline starts once
   * a connection is ours (see `turn.ts` for when the wait is given up).
   */
  override decideThen<R>(
    request: DecisionRequest,
    mode: DecisionMode,
    map: (step: Step) => R,
    recover: (error: unknown) => R | Promise<R>,
  ): R | Promise<R> {
    const mirror = mirrorOf(request.strategy);
    if (mirror === undefined) {
      return this.recreatingSchema(() => this.decideApplying([request], mode)).then(
        (steps) => map(steps[0] as Step),
        recover,
      );
    }
    return this.recreatingSchema(() => this.callOne(request, mirror, mode)).then(map, recover);
  }

  override decideAll(requests: readonly DecisionRequest[], mode: DecisionMode): Promise<Step[]> {
    const mirrors = requests.map((request) => mirrorOf(request.strategy));
    return mirrors.every((mirror) => mirror !== undefined)
      ? this.recreatingSchema(() => this.call(requests, mirrors as Mirror[], mode))
      : this.recreatingSchema(() => this.decideApplying(requests, mode));
  }

  /**
   * Gives an abandoned request's place back: one UPDATE, which replaces the state only while
   * it is still exactly `admitted` (compared by PostgreSQL on the row as it is, under its row
   * lock). A restored state already expired counts as absent, as every expired row does.
   */
  override async restoreState(
    request: DecisionRequest,
    admitted: StrategyState,
    restored: StrategyState,
  ): Promise<void> {
    const key = this.key(this.stateKey(request.uid, request.identity));
    const expiresAt = Math.ceil(restored[0] as number);
    // A built-in strategy's state is in `state`, a custom one's in `value` (see transaction.ts).
    const sql =
      mirrorOf(request.strategy) !== undefined
        ? `UPDATE ${this.schema.table} SET state = $3::bigint[], expires_at = $4
           WHERE key = $1 AND state = $2::bigint[]`
        : `UPDATE ${this.schema.table} SET value = $3, expires_at = $4
           WHERE key = $1 AND value = $2`;
    const encode = (state: StrategyState) =>
      mirrorOf(request.strategy) !== undefined ? `{${state.join(",")}}` : encodeState(state);
    await this.query(sql, [key, encode(admitted), encode(restored), expiresAt]);
  }

  /** A penalty or reward in one transaction under the key's advisory lock (see `adjust.ts`). */
  override async adjustState(request: DecisionRequest, points: number): Promise<Step> {
    const client = await this.turn();
    const site = {
      client,
      table: this.schema.table,
      now: this.clockArg(),
      deadline: performance.now() + this.timeoutMs,
      timeoutMs: this.timeoutMs,
    };
    const key = this.key(this.stateKey(request.uid, request.identity));
    try {
      return await this.command(() =>
        settled(adjustInTransaction(site, key, request, points), this.progress),
      );
    } catch (error) {
      throw error instanceof TraffikError && !(error instanceof BackendError)
        ? error
        : failure(error, this.where);
    }
  }

  override async clear(uid: string, identity: string): Promise<void> {
    await this.delete(this.stateKey(uid, identity));
  }

  /** The lone request's function, called for `request`. */
  private async callOne(
    request: DecisionRequest,
    mirror: Mirror,
    mode: DecisionMode,
  ): Promise<Step> {
    const client = await this.turn();
    // Taken once the connection is ours: the server never writes for a call given up on.
    const deadline = this.serverClock.deadline(this.timeoutMs);
    const sweepRows = this.sweepDue();
    const site = this.callSite(deadline, sweepRows, this.sweepCursor);
    const key = this.key(this.stateKey(request.uid, request.identity));
    const query = decideOneQuery(site, key, request, mirror, mode === "consume");
    try {
      const result = await this.command(() => released(client, client.query(query), this.progress));
      const reply = (result.rows[0] as { r: string }).r;
      if (sweepRows === 0) return stepFrom(reply);
      // "answer|last key swept": the answer holds no "|", the key may.
      const bar = reply.indexOf("|");
      this.swept(reply.slice(bar + 1));
      return stepFrom(reply.slice(0, bar));
    } catch (error) {
      if (sweepRows > 0) this.swept(undefined);
      throw failure(error, this.where);
    }
  }

  /** The group function, called once for `requests`. */
  private async call(
    requests: readonly DecisionRequest[],
    mirrors: readonly Mirror[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    const client = await this.turn();
    // Taken once the connection is ours: the server never writes for a call given up on.
    const deadline = this.serverClock.deadline(this.timeoutMs);
    const keys = requests.map((r) => this.key(this.stateKey(r.uid, r.identity)));
    const sweepRows = this.sweepDue();
    const site = this.callSite(deadline, sweepRows, this.sweepCursor);
    const query = decideGroupQuery(site, keys, requests, mirrors, mode === "consume");
    try {
      const result = await this.command(() => released(client, client.query(query), this.progress));
      const answers = (result.rows[0] as { r: string[] }).r;
      if (sweepRows > 0) this.swept(answers[requests.length]);
      return requests.map((_, i) => stepFrom(answers[i]));
    } catch (error) {
      if (sweepRows > 0) this.swept(undefined);
      throw failure(error, this.where);
    }
  }

  /** A pooled connection: this caller's turn, counted as a pending command while awaited. */
  private async turn(): Promise<PostgresClient> {
    const pool =
      this.ready() === undefined && this.pool !== undefined ? this.pool : await this.connected();
    try {
      const connect = () => pool.connect();
      return listened(
        await this.counted(() => awaitTurn(connect, this.progress, this.timeoutMs, this.where)),
      );
    } catch (error) {
      throw failure(error, this.where);
    }
  }

  /** When a query last settled: a busy pool is a turn, a stalled one an outage. */
  private readonly progress: Progress = { lastAnswerAt: performance.now() };

  /** How many rows this decision's sweep examines: 0 but every `sweep.every` decisions. */
  private sweepDue(): number {
    if (this.sweep === undefined || this.sweeping) return 0;
    if (++this.decisions % this.sweep.every !== 0) return 0;
    this.sweeping = true;
    return this.sweep.rows;
  }

  /** A sweep ended at `last` (the last key it examined, "" at the range's end) or failed. */
  private swept(last: string | undefined): void {
    this.sweeping = false;
    if (last !== undefined) this.sweepCursor = last === "" ? null : last;
  }

  /** A group with a strategy the function does not mirror, by `apply`, in a transaction. */
  private async decideApplying(
    requests: readonly DecisionRequest[],
    mode: DecisionMode,
  ): Promise<Step[]> {
    const client = await this.turn();
    const keys = requests.map((r) => this.key(this.stateKey(r.uid, r.identity)));
    const site = {
      client,
      table: this.schema.table,
      now: this.clockArg(),
      deadline: performance.now() + this.timeoutMs,
      timeoutMs: this.timeoutMs,
    };
    try {
      return await this.command(() =>
        settled(decideInTransaction(site, keys, requests, mode), this.progress),
      );
    } catch (error) {
      throw failure(error, this.where);
    }
  }
}

/**
 * `sent`, giving `client` back to its pool once it settles (discarded if it failed), and
 * recording then that the pool answered.
 */
function released<T>(client: PostgresClient, sent: Promise<T>, progress: Progress): Promise<T> {
  sent.then(
    () => client.release(),
    (error: unknown) => client.release(error instanceof Error ? error : true),
  );
  return settled(sent, progress);
}

/** `sent`, recording when it settles that the pool answered. */
function settled<T>(sent: Promise<T>, progress: Progress): Promise<T> {
  const answered = () => {
    progress.lastAnswerAt = performance.now();
  };
  sent.then(answered, answered);
  return sent;
}

const sameStep = (step: Step): Step => step;

const rethrow = (error: unknown): never => {
  throw error;
};
