/**
 * The chart's colours, as classes: GitHub's own palette for its light theme, and for its dark
 * theme under `prefers-color-scheme: dark`. The chart paints its own background in the same
 * scheme, so it stays readable even where the page's theme and the system's differ. Every
 * series also differs in shape (dashes, marks), not only in colour.
 */
export const THEME_STYLE = [
  "text{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;font-size:12px;fill:#1f2328}",
  ".title{font-size:15px;font-weight:600}",
  ".muted{fill:#59636e}",
  ".bg{fill:#ffffff;stroke:#d1d9e0}",
  ".grid{fill:none;stroke:#d1d9e0;stroke-width:1}",
  ".axis{fill:none;stroke:#818b98;stroke-width:1}",
  ".line{fill:none;stroke-width:2;stroke-linejoin:round}",
  ".offered{stroke:#818b98}",
  ".admitted{stroke:#1a7f37}",
  ".queued{stroke:#9a6700}",
  ".rejected{stroke:#cf222e;stroke-dasharray:6 3}",
  ".pace{fill:none;stroke:#0969da;stroke-width:1.5;stroke-dasharray:2 3}",
  ".cross{fill:none;stroke:#cf222e;stroke-width:1.5}",
  ".diamond{fill:#9a6700}",
  "@media (prefers-color-scheme:dark){",
  "text{fill:#f0f6fc}",
  ".muted{fill:#9198a1}",
  ".bg{fill:#0d1117;stroke:#3d444d}",
  ".grid{stroke:#3d444d}",
  ".axis,.offered{stroke:#9198a1}",
  ".admitted{stroke:#3fb950}",
  ".queued{stroke:#d29922}",
  ".rejected,.cross{stroke:#f85149}",
  ".pace{stroke:#4493f8}",
  ".diamond{fill:#d29922}",
  "}",
].join("");
