/** The slice of a Koa application read here: `app.proxy` and `app.maxIpsCount`. */
export interface KoaProxySettings {
  /** Whether Koa believes the proxy header (`X-Forwarded-For` by default). */
  readonly proxy?: boolean;
  /** How many right-most entries of the proxy header Koa reads; 0 reads them all. */
  readonly maxIpsCount?: number;
}

/** Apps already checked, so that one app with many throttled routes warns once. */
const checkedApps = new WeakSet<object>();

/**
 * Warns once per app (`TRAFFIK_PERMISSIVE_TRUST_PROXY`) when Koa's `app.proxy` is on with
 * `app.maxIpsCount` at 0: `ctx.ip` is then the left-most `X-Forwarded-For` entry, which the
 * client writes itself, so every client can choose its address and get past any limit keyed
 * on it. Returns the check for one middleware: it looks at the first request only, so later
 * requests cost nothing.
 */
export function proxyCheck(): (app: KoaProxySettings | undefined) => void {
  let checked = false;
  return function checkProxy(app) {
    if (checked) return;
    checked = true;
    if (app === undefined || checkedApps.has(app)) return;
    checkedApps.add(app);
    if (app.proxy !== true || (app.maxIpsCount ?? 0) > 0) return;
    process.emitWarning(
      "Koa's app.proxy is true with app.maxIpsCount 0: ctx.ip is the left-most X-Forwarded-For " +
        "entry, which any client can write, so each client can pick its own address and get " +
        "past every limit keyed on it. Set app.maxIpsCount to the number of proxies in front " +
        "of the app (e.g. 1).",
      { code: "TRAFFIK_PERMISSIVE_TRUST_PROXY" },
    );
  };
}
