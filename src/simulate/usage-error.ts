import { ConfigurationError } from "../errors.js";

/**
 * A command line, option value or traffic log that `traffik simulate` cannot use. The CLI
 * prints its message and exits with code 2, as it does for any {@link ConfigurationError}
 * (a bad rate, a bad strategy option).
 */
export class UsageError extends ConfigurationError {
  constructor(message: string) {
    super(message, { code: "ERR_TRAFFIK_USAGE" });
  }
}
