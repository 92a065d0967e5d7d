/* How numbers and text are written into the SVG: short, escaped, the same on every machine. */

/** A number as short, exact-enough text: at most 3 decimals, no trailing zeros. */
export function shortNumber(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** A pixel coordinate, to a tenth of a pixel: small files, same bytes on every machine. */
export function px(value: number): string {
  return String(Math.round(value * 10) / 10);
}

/** `text` safe inside an XML element or a double-quoted attribute. */
export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}
