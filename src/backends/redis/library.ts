import { createHash } from "node:crypto";
import type { ClientLink } from "./client-link.js";
import { ALL_CODES, decideLua } from "./lua/decide.js";
import { isNoScript } from "./script.js";

/**
 * The decision code as a Redis Function library (Redis 7): loaded once per server, it defines
 * its helpers at the load rather than at every call, as a script does. Measured on the server
 * (INFO commandstats, best of 7 rounds of 10 000 lone fixed-window calls): FCALL 8.3 us, EVALSHA
 * of the same code 10.3 us. In a batch the definitions are shared by its requests, and the two
 * cost the same.
 */
export interface Library {
  /** The function deciding, as `FCALL` names it: `decide(KEYS, ARGV)` of the decision script. */
  readonly fn: string;
  /**
   * The same function flagged as writing nothing, for peeks by `FCALL_RO`: a function without
   * flags is refused whole when the server is out of memory, where a script (and a peek) runs.
   */
  readonly peekFn: string;
  readonly source: string;
}

let built: Library | undefined;

/**
 * The decision library, named by a hash of its code: processes running different versions of
 * Traffik each load their own next to the other's, never replacing it.
 */
export function decisionLibrary(): Library {
  if (built !== undefined) return built;
  const code = decideLua(ALL_CODES);
  const name = `traffik_${createHash("sha1").update(code).digest("hex").slice(0, 16)}`;
  const fn = `${name}_decide`;
  const peekFn = `${name}_peek`;
  built = {
    fn,
    peekFn,
    source: `#!lua name=${name}
${code}
redis.register_function("${fn}", decide)
redis.register_function{function_name = "${peekFn}", callback = decide, flags = { "no-writes" }}
`,
  };
  return built;
}

/** After a load failed for a reason that may pass (a node down), how long before the next try. */
const RETRY_MS = 1000;

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : "");

/**
 * Whether the decision library may be called, per backend: loaded on the server (every master
 * of a Cluster) at `initialize()`, and again when a call finds it gone (`FUNCTION FLUSH`, a
 * restart). Where Functions are missing (Redis before 7) or refused (an ACL), decisions go by
 * EVALSHA of the same code, for good.
 */
export class DecisionFunctions {
  /** Whether FCALL may be sent: the library was loaded on every master. */
  usable = false;
  private refused = false;
  private loading: Promise<void> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;

  /**
   * Loads the library on every master, unless refused for good or loading already; never
   * rejects: a failure leaves decisions on EVALSHA, and is tried again a second later.
   */
  load(link: ClientLink): Promise<void> {
    if (this.refused) return Promise.resolve();
    if (this.loading !== undefined) return this.loading;
    const { source } = decisionLibrary();
    const loadOn = (nodes: readonly ((args: readonly string[]) => Promise<unknown>)[]) =>
      Promise.all(
        nodes.map((send) =>
          send(["FUNCTION", "LOAD", source]).catch((error: unknown) => {
            if (!messageOf(error).includes("already exists")) throw error;
          }),
        ),
      );
    this.loading = link
      .masters()
      .then(loadOn)
      .then(
        () => {
          this.usable = true;
          this.loading = undefined;
        },
        (error: unknown) => {
          this.refused ||= isRefusal(error);
          this.failedAt = performance.now();
          this.loading = undefined;
        },
      );
    return this.loading;
  }

  /**
   * Whether a call (by FCALL or EVALSHA) failed for want of its code, so that EVAL of the
   * script answers it. A library found gone, or FCALL refused, stops FCALL; a gone library is
   * loaded again meanwhile.
   */
  missing(error: unknown, link: ClientLink): boolean {
    if (isNoScript(error)) return true;
    const message = messageOf(error);
    if (!this.usable) return false;
    if (message.startsWith("ERR Function not found")) {
      this.usable = false;
      void this.load(link);
      return true;
    }
    if (message.startsWith("NOPERM") && /fcall/i.test(message)) {
      this.usable = false;
      this.refused = true;
      return true;
    }
    return false;
  }

  /** Tries loading again where the last try failed for a reason that may pass. */
  retry(link: ClientLink): void {
    if (!this.usable && !this.refused && performance.now() - this.failedAt >= RETRY_MS) {
      void this.load(link);
    }
  }
}

/** A server without Functions (before Redis 7), or a user the ACL does not let load them. */
const isRefusal = (error: unknown): boolean => {
  const message = messageOf(error);
  return message.startsWith("NOPERM") || message.includes("unknown command");
};
