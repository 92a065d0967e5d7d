import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { it } from "node:test";
import { root } from "./code-blocks.js";

const pages = [
  "README.md",
  "CONTRIBUTING.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** The text of a page outside its fenced code blocks, where a link is a link. */
function prose(page: string): string {
  return readFileSync(join(root, page), "utf8").replace(/^```[\s\S]*?^```/gm, "");
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to `-`. */
function anchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, title] of prose(page).matchAll(/^#{1,6} (.*)$/gm)) {
    const slug = (title ?? "")
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    found.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return found;
}

it("every link between the docs reaches a file, and every #anchor a heading in it", () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const [, target] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (target === undefined || /^[a-z]+:/.test(target)) continue;
      const [path = "", anchor] = target.split("#");
      const file = path === "" ? page : relative(root, join(root, dirname(page), path));
      if (!existsSync(join(root, file))) broken.push(`${page}: ${target} (no such file)`);
      else if (anchor !== undefined && file.endsWith(".md") && !anchors(file).has(anchor)) {
        broken.push(`${page}: ${target} (no such heading in ${file})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});
