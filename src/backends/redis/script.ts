import { createHash } from "node:crypto";

/** A Lua script, with the SHA-1 by which `EVALSHA` names it. */
export interface Script {
  readonly sha: string;
  readonly source: string;
}

/** `source` as a {@link Script}. */
export function script(source: string): Script {
  return { sha: createHash("sha1").update(source).digest("hex"), source };
}

/** Whether the server lacked the script (a restart, a failover, `SCRIPT FLUSH`): send its source. */
export const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith("NOSCRIPT");
