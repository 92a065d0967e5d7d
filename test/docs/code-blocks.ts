/**
 * Reads the TypeScript blocks out of the docs and type-checks them as modules, with `traffik`
 * and its subpaths mapped to `src/` (the project's own `tsconfig.json` paths).
 *
 * A block's info string says what to do with it:
 *
 * - ```` ```ts ````: type-checked.
 * - ```` ```ts run ````: type-checked, then executed (servers on a free port, closed after).
 * - ```` ```ts fragment ````: neither; a deliberate excerpt, to be kept rare.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";

/** The repository's root. */
export const root = join(import.meta.dirname, "..", "..");

/** What the docs test does with a block. */
export type BlockKind = "check" | "run" | "fragment";

/** One fenced TypeScript block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository. */
  source: string;
  /** The line of the block's first line of code, 1-based. */
  line: number;
  kind: BlockKind;
  code: string;
}

const KINDS: Record<string, BlockKind> = { "": "check", run: "run", fragment: "fragment" };

/** Every ```ts block of `markdown`; an unknown word after `ts` is an error, not a skip. */
export function extractBlocks(markdown: string, source: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const opening = /^```(ts|typescript)\b\s*(.*)$/.exec(lines[i] ?? "");
    if (!opening) continue;
    const word = (opening[2] ?? "").trim();
    const kind = KINDS[word];
    if (kind === undefined) {
      throw new Error(`${source}:${i + 1}: unknown block marker "${word}" (run, fragment)`);
    }
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? "")) end++;
    if (end === lines.length) throw new Error(`${source}:${i + 1}: the block is never closed`);
    blocks.push({ source, line: start + 1, kind, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return blocks;
}

/** The file name a block is written to, traceable to its source. */
export function blockFileName(block: CodeBlock): string {
  const stem = basename(block.source, ".md").toLowerCase();
  return `${stem}-line-${block.line}.ts`;
}

/**
 * Writes `blocks` (fragments left out) into `folder`, each as its own module, and type-checks
 * them with one `tsc` run. Returns tsc's diagnostics with each block file's line turned back
 * into the Markdown file's line (`README.md:42: error TS2304: ...`); empty when all compile.
 */
export function typeCheckBlocks(blocks: CodeBlock[], folder: string): string[] {
  mkdirSync(folder, { recursive: true });
  const files = new Map<string, CodeBlock>();
  for (const block of blocks) {
    if (block.kind === "fragment") continue;
    const name = blockFileName(block);
    files.set(name, block);
    // `export {}` keeps a block without imports a module, so blocks never share names.
    writeFileSync(join(folder, name), `${block.code}\nexport {};\n`);
  }
  writeFileSync(
    join(folder, "tsconfig.json"),
    JSON.stringify({
      extends: relative(folder, join(root, "tsconfig.json")),
      compilerOptions: {
        // A block may name a thing only to show it; the project's own code keeps these checks.
        noUnusedLocals: false,
        noUnusedParameters: false,
        // NestJS's decorators are legacy ones; Traffik's `throttled` works under both kinds.
        experimentalDecorators: true,
      },
      include: ["*.ts"],
    }),
  );
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", folder, "--pretty", "false"], {
    encoding: "utf8",
  });
  const diagnostics = `${result.stdout}${result.stderr}`
    .split("\n")
    .filter((line) => line.trim() !== "");
  if (result.status === 0) return [];
  return diagnostics.map((line) => {
    const located = /^(?:.*[\\/])?([^\\/()]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
    const block = located ? files.get(located[1] ?? "") : undefined;
    if (!located || !block) return line;
    return `${block.source}:${block.line + Number(located[2]) - 1}: ${located[4]}`;
  });
}

/** Every ```ts block of README.md and docs/*.md. */
export function documentedBlocks(markdownFiles: string[]): CodeBlock[] {
  return markdownFiles.flatMap((file) =>
    extractBlocks(readFileSync(join(root, file), "utf8"), file),
  );
}
