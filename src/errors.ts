/**
 * Every error Traffik raises. All are `instanceof TraffikError` and carry a stable `code`.
 *
 * @module
 */

/** The base of every error Traffik raises. `code` is stable across versions; match on it. */
export class TraffikError extends Error {
  /** A stable identifier of the kind of error, such as `ERR_TRAFFIK_THROTTLED`. */
  readonly code: string;

  constructor(message: string, code = "ERR_TRAFFIK", options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Traffik for Python's name for {@link TraffikError}. */
export { TraffikError as TraffikException };

/** A rate, strategy, throttle or backend was configured with a value that cannot work. */
export class ConfigurationError extends TraffikError {
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options?.code ?? "ERR_TRAFFIK_CONFIGURATION", options);
  }
}

/**
 * A backend is set up in a way that cannot work: its client package is not installed, the
 * client given is not one it can use, the server refuses its credentials or its scripts.
 * Retrying cannot help, so `onError` never decides it: it fails `initialize()` (or the
 * constructor), and through it the first request, loudly.
 */
export class BackendConfigurationError extends ConfigurationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "ERR_TRAFFIK_BACKEND_CONFIGURATION" });
  }
}

/**
 * The connection carries nothing to identify its client by (no socket address), and the
 * throttle's identifier supplied nothing either.
 */
export class AnonymousConnection extends TraffikError {
  constructor(
    message = "Cannot identify the client: the connection has no remote address. Pass an `identifier` that returns one.",
  ) {
    super(message, "ERR_TRAFFIK_ANONYMOUS_CONNECTION");
  }
}

/**
 * A cost that no strategy state could ever admit, or that is not a whole number of at least 0.
 * Retrying cannot help, so this is not a {@link ConnectionThrottled}.
 */
export class InvalidCost extends TraffikError {
  /** The cost that was asked for. */
  readonly cost: unknown;
  /** The largest cost the throttle's strategy can admit, when that was the problem. */
  readonly capacity: number | undefined;

  constructor(message: string, cost: unknown, capacity?: number) {
    super(
      message,
      capacity === undefined ? "ERR_TRAFFIK_INVALID_COST" : "ERR_TRAFFIK_COST_EXCEEDS_CAPACITY",
    );
    this.cost = cost;
    this.capacity = capacity;
  }
}

/** What {@link ConnectionThrottled} is built from. */
export interface ConnectionThrottledInit {
  /** How long the client should wait, in milliseconds. */
  waitMs: number;
  /** A sentence for the client. Defaults to "Too many requests. Retry in N seconds." */
  detail?: string;
  /** Extra response headers; `Retry-After` is always set from `waitMs`. */
  headers?: Readonly<Record<string, string>>;
  /** The HTTP status. Defaults to 429. */
  status?: number;
}

/**
 * A client went over a limit. Frameworks turn it into a response: `status` (429), the
 * `headers` (always with `Retry-After`) and a body built from `detail` and `retryAfter`.
 */
export class ConnectionThrottled extends TraffikError {
  /** The HTTP status to answer with: 429 unless the throttle was told otherwise. */
  readonly status: number;
  /** Whole seconds to wait, rounded up, as sent in `Retry-After`. At least 1. */
  readonly retryAfter: number;
  /** The exact wait in milliseconds (whole, rounded up). */
  readonly waitMs: number;
  /** A sentence for the client. */
  readonly detail: string;
  /** Headers to send: `Retry-After` and the throttle's extra headers. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(init: ConnectionThrottledInit) {
    const fields = throttledFields(init);
    // A throttled request is an answer, not a bug: capturing its stack would cost more than
    // deciding it, and under a flood there are many.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(fields.detail, fields.code);
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.status = fields.status;
    this.retryAfter = fields.retryAfter;
    this.waitMs = fields.waitMs;
    this.detail = fields.detail;
    this.headers = fields.headers;
  }

  /**
   * What `new ConnectionThrottled(init)` makes, without V8's native error: even with no stack
   * frames, the `Error` constructor cost 530–650 ns (Node 20, this machine), more than a whole
   * in-memory decision, and a flood of rejections builds one each. The same prototype, own
   * fields and values; `message` and `stack` are read from the prototype (`detail`, and
   * `name: message`, as a stackless native error's). What the throttles throw. @internal
   */
  static answer(init: ConnectionThrottledInit): ConnectionThrottled {
    const error = Object.create(ConnectionThrottled.prototype) as {
      -readonly [K in keyof ConnectionThrottled]: ConnectionThrottled[K];
    };
    const fields = throttledFields(init);
    error.name = "ConnectionThrottled";
    error.code = fields.code;
    error.status = fields.status;
    error.retryAfter = fields.retryAfter;
    error.waitMs = fields.waitMs;
    error.detail = fields.detail;
    error.headers = fields.headers;
    return error;
  }
}

/** The fields of a {@link ConnectionThrottled}, from what it is built from. */
function throttledFields(init: ConnectionThrottledInit) {
  const waitMs = Math.max(0, Math.ceil(init.waitMs));
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return {
    code: "ERR_TRAFFIK_THROTTLED",
    status: init.status ?? 429,
    retryAfter,
    waitMs,
    detail:
      init.detail ??
      `Too many requests. Retry in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`,
    headers: { ...init.headers, "Retry-After": String(retryAfter) } as Readonly<
      Record<string, string>
    >,
  };
}

// The `message` and `stack` of a ConnectionThrottled made by `answer`; a native one has its
// own, which hide these. Assigning one makes it the error's own, as on a native error.
for (const [name, read] of [
  ["message", (error: ConnectionThrottled) => error.detail],
  ["stack", (error: ConnectionThrottled) => `${error.name}: ${error.message}`],
] as const) {
  Object.defineProperty(ConnectionThrottled.prototype, name, {
    configurable: true,
    get(this: ConnectionThrottled) {
      return read(this);
    },
    set(this: ConnectionThrottled, value: unknown) {
      Object.defineProperty(this, name, { value, writable: true, configurable: true });
    },
  });
}

/** A backend operation failed or timed out. `cause` holds what the backend threw. */
export class BackendError extends TraffikError {
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options?.code ?? "ERR_TRAFFIK_BACKEND", options);
  }
}

/** A backend could not connect to its server (at `initialize()` or later). */
export class BackendConnectionError extends BackendError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, code: "ERR_TRAFFIK_BACKEND_CONNECTION" });
  }
}

/**
 * A client address on a throttle's or a middleware's `denyList`: refused without asking the
 * backend. Frameworks answer it with `status` (403), no `Retry-After` (waiting will not help)
 * and `{ "detail" }`; a `ws` socket is closed with 1008 (policy violation).
 */
export class ConnectionDenied extends TraffikError {
  /** The HTTP status to answer with: 403 Forbidden. */
  readonly status = 403;
  /** A sentence for the client. */
  readonly detail: string;
  /** Headers to send: none, since retrying cannot help. */
  readonly headers: Readonly<Record<string, string>> = Object.freeze({});

  constructor(detail = "Forbidden: requests from this address are refused.") {
    // Like a throttled request, a denied one is an answer, and a flood of them costs no stacks.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(detail, "ERR_TRAFFIK_DENIED");
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.detail = detail;
  }
}
