/** An Express app's settings, as read here; absent on a plain `node:http` server. */
interface AppSettings {
  get(setting: string): unknown;
}

/** Apps already checked, so that one app with many throttled routes warns once. */
const checkedApps = new WeakSet<object>();

/**
 * Warns once per app (`TRAFFIK_PERMISSIVE_TRUST_PROXY`) when Express's `trust proxy` is `true`:
 * `req.ip` is then the left-most `X-Forwarded-For` entry, which the client writes itself, so
 * every client can choose its address and get past any limit keyed on it. Returns the check
 * for one middleware: it looks at the first request only, so later requests cost nothing.
 */
export function trustProxyCheck(): (request: object) => void {
  let checked = false;
  return function checkTrustProxy(request) {
    if (checked) return;
    checked = true;
    const app = (request as { app?: Partial<AppSettings> | null }).app;
    if (typeof app?.get !== "function" || checkedApps.has(app)) return;
    checkedApps.add(app);
    if (app.get("trust proxy") !== true) return;
    process.emitWarning(
      "Express's `trust proxy` is true: req.ip is the left-most X-Forwarded-For entry, which " +
        "any client can write, so each client can pick its own address and get past every " +
        "limit keyed on it. Set `trust proxy` to the number of proxies in front of the app " +
        '(e.g. 1) or to their addresses ("10.0.0.0/8").',
      { code: "TRAFFIK_PERMISSIVE_TRUST_PROXY" },
    );
  };
}
