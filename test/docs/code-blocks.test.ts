import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  blockFileName,
  type CodeBlock,
  documentedBlocks,
  extractBlocks,
  root,
  typeCheckBlocks,
} from "./code-blocks.js";

const markdownFiles = [
  "README.md",
  "CONTRIBUTING.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];
const blocks = documentedBlocks(markdownFiles);

/** A block that must not compile, checked in the same tsc run: the test can fail. */
const broken = extractBlocks(
  [
    "# A page with a mistake",
    "",
    "```ts",
    'import { HTTPThrottle } from "traffik";',
    'declare const request: import("node:http").IncomingMessage;',
    'const throttle = new HTTPThrottle({ uid: "api", rate: "100/m" });',
    "throttle.hitt(request);",
    "```",
  ].join("\n"),
  "broken.md",
);

describe("the docs' TypeScript blocks", () => {
  const folder = join(root, ".tmp", `doc-blocks-${process.pid}`);
  let diagnostics: string[] = [];

  before(() => {
    diagnostics = typeCheckBlocks([...blocks, ...broken], folder);
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("are found, in README.md and the guides, and few are fragments", () => {
    assert.ok(blocks.length >= 20, `only ${blocks.length} blocks found`);
    const fragments = blocks.filter((block) => block.kind === "fragment");
    assert.ok(
      fragments.length <= 3,
      `fragments should stay rare: ${fragments.map((b) => `${b.source}:${b.line}`).join(", ")}`,
    );
  });

  it("all compile against src/ (traffik and its subpaths)", () => {
    const ours = diagnostics.filter((line) => !line.startsWith("broken.md:"));
    assert.deepEqual(ours, [], `\n${ours.join("\n")}`);
  });

  it("a broken block fails the check, named by its Markdown file and line", () => {
    assert.equal(diagnostics.filter((line) => line.startsWith("broken.md:")).length, 1);
    assert.match(diagnostics.join("\n"), /^broken\.md:7: error TS2551: .*'hitt'/m);
  });
});

describe("the docs' runnable blocks", () => {
  const runnable = blocks.filter((block) => block.kind === "run");
  const folder = join(root, ".tmp", `doc-runs-${process.pid}`);
  before(() => mkdirSync(folder, { recursive: true }));
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("include the quick start and the testing guide", () => {
    const sources = new Set(runnable.map((block) => block.source));
    assert.ok(sources.has("README.md"), "the quick start runs");
    assert.ok(sources.has("docs/testing.md"), "the testing guide runs");
  });

  for (const block of runnable) {
    it(`${block.source}:${block.line} runs on the in-memory backend, and ends once its servers close`, async (t) => {
      await runBlock(block, folder, t);
    });
  }
});

/**
 * Runs a block in its own process (tsx, with the project's paths), its servers moved to free
 * ports. Each server gets one request that must not fail (a status below 500), then every
 * server is closed and the process must end with code 0 on its own: nothing left open.
 */
async function runBlock(
  block: CodeBlock,
  folder: string,
  t: { after: (fn: () => void) => void },
): Promise<void> {
  const file = join(folder, blockFileName(block));
  writeFileSync(file, `${block.code}\nexport {};\n`);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", "./test/docs/listen-on-free-port.ts", relative(root, file)],
    { cwd: root, stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  t.after(() => child.kill("SIGKILL"));
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const statuses: number[] = [];
  child.on("message", async (message: { port: number }) => {
    const response = await fetch(`http://127.0.0.1:${message.port}/`, {
      headers: { connection: "close" },
    });
    await response.text();
    statuses.push(response.status);
    child.send("close");
  });
  // Not a timing assertion: a bound so a block that never ends fails instead of hanging.
  const ended = once(child, "exit") as Promise<[number | null, string | null]>;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<"open">((resolve) => {
    timer = setTimeout(resolve, 45_000, "open");
  });
  const result = await Promise.race([ended, bound]);
  clearTimeout(timer);
  assert.notEqual(result, "open", `the block kept its process alive:\n${output}`);
  const [code] = result as [number | null, string | null];
  assert.equal(code, 0, `the block failed:\n${output}`);
  if (/\.listen\(\d+|port: \d+/.test(block.code.replace(/listen\(0\b|port: 0\b/g, ""))) {
    assert.ok(statuses.length > 0, "the block's server was never reached");
  }
  for (const status of statuses) assert.ok(status < 500, `a server answered ${status}`);
}
