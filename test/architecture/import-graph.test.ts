/**
 * The layers' rules, read from the source: adapters never import `backends/`, no module imports
 * itself through others at run time, and no built-in strategy class is named outside
 * `strategies/` and its backend mirrors. Imports are parsed with the TypeScript compiler, so
 * comments and strings never count.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..", "..");
const SRC = join(ROOT, "src");

/** One import of a module: the module it reaches, and whether it survives compilation. */
interface Edge {
  readonly to: string;
  /** `import type` / `export type`: erased, so no run-time dependency. */
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The `src/` file a relative specifier names (`./x.js` is `./x.ts` or `./x/index.ts`). */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const base = resolve(dirname(from), specifier).replace(/\.js$/, "");
  for (const candidate of [`${base}.ts`, join(base, "index.ts")]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${relative(ROOT, from)}: cannot resolve "${specifier}"`);
}

/** The relative imports and re-exports of one file, static and dynamic. */
export function importsOf(file: string, text: string): Edge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edges: Edge[] = [];
  const add = (specifier: ts.Node | undefined, typeOnly: boolean) => {
    if (specifier === undefined || !ts.isStringLiteral(specifier)) return;
    const to = resolveSpecifier(file, specifier.text);
    if (to !== undefined) edges.push({ to, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The identifiers a file's code uses: comments and strings are not code. */
export function identifiersOf(text: string): Set<string> {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const names = new Set<string>();
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (token === ts.SyntaxKind.Identifier) names.add(scanner.getTokenValue());
  }
  return names;
}

/** Every cycle of the graph, as its strongly connected components of more than one module. */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const connect = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) as number, index.get(to) as number));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return found;
}

const files = sourceFiles(SRC);
const texts = new Map(files.map((file) => [file, readFileSync(file, "utf8")]));
const edges = new Map(files.map((file) => [file, importsOf(file, texts.get(file) as string)]));
const name = (file: string) => relative(ROOT, file);
const under = (file: string, folder: string) => name(file).startsWith(`src/${folder}/`);

/** The built-in strategy classes: what `src/strategies/` exports as classes. */
const strategyClasses = files
  .filter((file) => under(file, "strategies"))
  .flatMap((file) => [...(texts.get(file) as string).matchAll(/export class (\w+)/g)])
  .map((match) => match[1] as string);

/**
 * Where a strategy may be named: its own folder; its mirrors in the Redis and PostgreSQL
 * backends (Lua, PL/pgSQL, and the tables that find a mirror by exact class); and the
 * simulator's menu, which offers the built-ins by name on its command line.
 */
function mayNameStrategies(file: string): boolean {
  return (
    under(file, "strategies") ||
    under(file, "backends/redis/lua") ||
    name(file) === "src/backends/redis/strategy-args.ts" ||
    name(file) === "src/backends/redis/mirrors.ts" ||
    under(file, "backends/postgres/sql") ||
    name(file) === "src/backends/postgres/mirrors.ts" ||
    name(file) === "src/simulate/catalog.ts"
  );
}

describe("the import graph of src/", () => {
  it("finds the modules, their imports and the strategy classes it checks", () => {
    assert.ok(files.length > 50, "the source files are found");
    assert.ok(edges.get(join(SRC, "index.ts"))?.some((edge) => under(edge.to, "throttles")));
    assert.ok(strategyClasses.includes("FixedWindowStrategy"));
    assert.equal(strategyClasses.length, 8, strategyClasses.join(", "));
  });

  it("its checks catch what they are for, on a made-up graph", () => {
    assert.deepEqual(
      cyclesOf(
        new Map([
          ["a", ["b"]],
          ["b", ["c"]],
          ["c", ["a"]],
          ["d", ["a"]],
        ]),
      ),
      [["c", "b", "a"]],
    );
    assert.deepEqual(cyclesOf(new Map([["a", ["a"]]])), [["a"]]);
    assert.deepEqual(
      cyclesOf(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
      [],
    );
    const code = '// FixedWindowStrategy\nconst s = "GCRAStrategy"; new TokenBucketStrategy();';
    const named = [...identifiersOf(code)].filter((id) => id.endsWith("Strategy"));
    assert.deepEqual(named, ["TokenBucketStrategy"], "code counts; comments and strings do not");
  });

  it("no adapter imports backends/: they reach a backend through throttles/", () => {
    const offending = files
      .filter((file) => under(file, "integrations"))
      .flatMap((file) =>
        (edges.get(file) ?? [])
          .filter((edge) => under(edge.to, "backends"))
          .map((edge) => `${name(file)} imports ${name(edge.to)}`),
      );
    assert.deepEqual(offending, []);
  });

  it("no module imports itself through others at run time (type-only imports are erased)", () => {
    const runtime = new Map(
      files.map((file) => [
        file,
        (edges.get(file) ?? []).filter((edge) => !edge.typeOnly).map((edge) => edge.to),
      ]),
    );
    const cycles = cyclesOf(runtime).map((cycle) => cycle.map(name).sort().join(" <-> "));
    assert.deepEqual(cycles, []);
  });

  it("no built-in strategy class is named outside strategies/, its backend mirrors and the simulator's menu", () => {
    const offending = files
      .filter((file) => !mayNameStrategies(file))
      .flatMap((file) => {
        const ids = identifiersOf(texts.get(file) as string);
        return strategyClasses.filter((cls) => ids.has(cls)).map((cls) => `${name(file)}: ${cls}`);
      });
    assert.deepEqual(offending, []);
  });
});
