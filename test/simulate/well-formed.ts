/**
 * A strict check that text is one well-formed XML element (what an SVG file must be): every
 * tag closed in order, attributes quoted and not repeated, `&` only in the five predefined
 * entities or a character reference, no `<` in text. Returns the problem, or undefined.
 */
export function xmlProblem(text: string): string | undefined {
  const open: string[] = [];
  let roots = 0;
  let at = 0;
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
  const checkText = (from: number, to: number): string | undefined => {
    for (let i = from; i < to; i++) {
      if (text[i] === "<") return `"<" in text at ${i}`;
      if (text[i] === "&") {
        entity.lastIndex = i;
        if (!entity.test(text)) return `bare "&" at ${i}`;
      }
    }
    return undefined;
  };
  while (at < text.length) {
    const lt = text.indexOf("<", at);
    const textEnd = lt === -1 ? text.length : lt;
    if (open.length === 0 && text.slice(at, textEnd).trim() !== "")
      return `text outside the root at ${at}`;
    const bad = checkText(at, textEnd);
    if (bad) return bad;
    if (lt === -1) break;
    const gt = text.indexOf(">", lt);
    if (gt === -1) return `unclosed tag at ${lt}`;
    const tag = text.slice(lt + 1, gt);
    at = gt + 1;
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      if (open.pop() !== name) return `</${name}> does not close the open element at ${lt}`;
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const match = /^([A-Za-z][\w:.-]*)((?:\s+[A-Za-z][\w:.-]*="[^"<]*")*)\s*$/.exec(body);
    if (!match) return `malformed tag <${tag}> at ${lt}`;
    const names = [...(match[2] ?? "").matchAll(/([A-Za-z][\w:.-]*)="([^"]*)"/g)];
    const seen = new Set<string>();
    for (const [, name, value] of names) {
      if (seen.has(name as string)) return `attribute ${name} twice in <${match[1]}>`;
      seen.add(name as string);
      const start = text.indexOf(value as string, lt);
      const badValue = checkText(start, start + (value as string).length);
      if (badValue) return badValue;
    }
    if (open.length === 0) roots++;
    if (roots > 1) return `a second root element at ${lt}`;
    if (!selfClosing) open.push(match[1] as string);
  }
  if (open.length > 0) return `<${open.at(-1)}> is never closed`;
  return roots === 1 ? undefined : "no root element";
}
