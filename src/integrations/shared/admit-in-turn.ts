import type { Eventually } from "../../throttles/sync-or-async.js";
import type { Verdict } from "../../throttles/verdict.js";
import type { HeldMessages } from "./held-messages.js";
import type { SocketClosing } from "./socket-closing.js";

/** What a socket's guard brings to {@link admitInTurn}. @internal */
export interface GuardParts<M, C> {
  readonly held: HeldMessages<M, Verdict<C>>;
  readonly closing: SocketClosing;
  readonly maxPending: number;
  /** The verdict for a message. */
  readonly decide: (message: M) => Eventually<Verdict<C>>;
  /** Answers a message refused for the bound (`maxPending` held already). */
  readonly overflow: (message: M) => void;
  /** Answers a rejected message. */
  readonly answer: (message: M, verdict: Verdict<C>) => void;
  readonly onError: (error: unknown) => void;
}

/**
 * Decides one message of a socket (a `ws` message, a Socket.IO event) and sends it on in
 * arrival order when admitted, holds it while its verdict or its turn is awaited, or answers
 * it when rejected or beyond the bound. Nothing happens once the socket has gone. @internal
 */
export function admitInTurn<M, C>(message: M, parts: GuardParts<M, C>): void {
  const { held, closing, onError } = parts;
  if (closing.gone) return;
  if (held.size >= parts.maxPending) {
    parts.overflow(message);
    return;
  }
  let decided: Eventually<Verdict<C>>;
  try {
    decided = parts.decide(message);
  } catch (error) {
    onError(error);
    return;
  }
  if (!(decided instanceof Promise)) {
    if (decided.rejection === undefined) held.deliverInTurn(message, decided);
    else parts.answer(message, decided);
    return;
  }
  const entry = held.hold(message);
  decided.then(
    (verdict) => {
      if (closing.gone) return;
      if (verdict.rejection === undefined) {
        held.admit(entry, verdict);
        return;
      }
      held.drop(entry);
      parts.answer(message, verdict);
    },
    (error: unknown) => {
      held.drop(entry);
      if (!(closing.gone && error === closing.reason)) onError(error);
    },
  );
}
