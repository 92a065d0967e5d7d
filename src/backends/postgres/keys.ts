/**
 * The key of a client's state in one throttle within a namespace: `namespace:uid:identity`.
 * The namespace and uid are plain (letters, digits, `_`, `-`, `.`), so the identity, last, is
 * unambiguous. PostgreSQL's text cannot hold a NUL character, so NUL is written `%00`, and `%`
 * itself `%25`: no identity breaks its key or collides with another.
 */
export function rowKey(namespace: string, relative: string): string {
  return `${namespace}:${needsEncoding(relative) ? relative.replace(/[%\0]/g, encodeChar) : relative}`;
}

const encodeChar = (char: string): string => (char === "%" ? "%25" : "%00");

/** Whether `text` holds `%` or NUL; a loop, since this runs for every decision. */
function needsEncoding(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 37 || code === 0) return true;
  }
  return false;
}

/**
 * The bounds of a namespace's keys, `[from, to)` in the table's `C` collation: every key
 * starts with `namespace:`, and `;` is the character after `:`.
 */
export function namespaceRange(namespace: string): readonly [from: string, to: string] {
  return [`${namespace}:`, `${namespace};`];
}
