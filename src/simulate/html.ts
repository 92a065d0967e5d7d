import { type Chart, renderSvg } from "./svg.js";
import { escapeXml } from "./svg-text.js";

/**
 * A page showing several pictures of the same traffic side by side (each as in
 * {@link renderSvg}, inline), under the command that made them. Self-contained, light or dark
 * as the reader's system is, and the same bytes for the same charts.
 *
 * @param command the command line, shown so the page can be made again.
 */
export function renderHtml(charts: readonly Chart[], command: string): string {
  const first = charts[0];
  const heading =
    first === undefined
      ? "traffik simulate"
      : `${first.simulation.rate} under ${first.traffic.label}: ${charts.length} strategies`;
  return [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    `<title>${escapeXml(heading)}</title>`,
    "<style>",
    "body{font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px;background:#ffffff;color:#1f2328}",
    "@media (prefers-color-scheme:dark){body{background:#0d1117;color:#f0f6fc}}",
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(760px,1fr));gap:16px}",
    "figure{margin:0}",
    "svg{max-width:100%;height:auto}",
    "</style>",
    "</head>",
    "<body>",
    `<h1>${escapeXml(heading)}</h1>`,
    `<p>Made by <code>${escapeXml(command)}</code>, replaying each request through the real strategy on a simulated clock.</p>`,
    '<div class="charts">',
    ...charts.map((chart) => `<figure>\n${renderSvg(chart)}</figure>`),
    "</div>",
    "</body>",
    "</html>",
    "",
  ].join("\n");
}
