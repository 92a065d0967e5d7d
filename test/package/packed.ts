import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import ts from "typescript";
import { packedTarball } from "./tarball.js";

export const root = join(import.meta.dirname, "..", "..");
const require = createRequire(import.meta.url);

/**
 * Installs the package's tarball (built and packed once for the sources as they stand, see
 * {@link packedTarball}) in a fresh project of its own.
 */
export function installPacked(): { project: string; tarball: string } {
  const project = mkdtempSync(join(tmpdir(), "traffik-pack-"));
  const packed = packedTarball(root);
  const tarball = join(project, basename(packed));
  copyFileSync(packed, tarball);
  writeFileSync(join(project, "package.json"), '{"name":"consumer","private":true}');
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], {
    cwd: project,
    stdio: "ignore",
  });
  return { project, tarball };
}

/** How a consumer's TypeScript resolves the package. */
export type Resolution = "node16 from ESM" | "node16 from CommonJS" | "node10";

/**
 * The names each subpath exports as its consumer's TypeScript sees them, split into values and
 * types; `undefined` for a subpath that does not resolve.
 */
export function publishedExports(
  project: string,
  subpaths: readonly string[],
  resolution: Resolution,
): Record<string, { values: string[]; types: string[] } | undefined> {
  const extension = { "node16 from ESM": "mts", "node16 from CommonJS": "cts", node10: "ts" };
  const file = join(project, `probe.${extension[resolution]}`);
  writeFileSync(
    file,
    subpaths.map((name, i) => `export * as m${i} from ${JSON.stringify(name)};`).join("\n"),
  );
  const module = resolution === "node10" ? ts.ModuleKind.CommonJS : ts.ModuleKind.NodeNext;
  const program = ts.createProgram([file], { module, types: [], noEmit: true });
  const checker = program.getTypeChecker();
  const isValue = (symbol: ts.Symbol): boolean => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    return (target.flags & ts.SymbolFlags.Value) !== 0;
  };
  const found: Record<string, { values: string[]; types: string[] } | undefined> = {};
  for (const statement of program.getSourceFile(file)?.statements ?? []) {
    if (!ts.isExportDeclaration(statement) || statement.moduleSpecifier === undefined) continue;
    const name = (statement.moduleSpecifier as ts.StringLiteral).text;
    const module = checker.getSymbolAtLocation(statement.moduleSpecifier);
    const symbols = module === undefined ? undefined : checker.getExportsOfModule(module);
    found[name] = symbols && {
      values: symbols
        .filter(isValue)
        .map((s) => s.name)
        .sort(),
      types: symbols
        .filter((s) => !isValue(s))
        .map((s) => s.name)
        .sort(),
    };
  }
  return found;
}

/** Compiler options of a consumer project; the repository's `@types/node` stands in for its own. */
export type ConsumerOptions = Record<string, string | boolean | string[]>;

/**
 * Compiles `test/package/consumers/<source>` in the consumer project under `options` (as the
 * file `<folder>/<source>` with `extension`), runs the output and returns what it printed.
 */
export function compileAndRun(
  project: string,
  folder: string,
  source: string,
  extension: "ts" | "mts",
  options: ConsumerOptions,
): string {
  const dir = join(project, folder);
  mkdirSync(dir, { recursive: true });
  const base = source.replace(/\.ts$/, "");
  copyFileSync(
    join(root, "test", "package", "consumers", source),
    join(dir, `${base}.${extension}`),
  );
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      strict: true,
      skipLibCheck: false,
      typeRoots: [join(root, "node_modules", "@types")],
      types: ["node"],
      outDir: "out",
      ...options,
    },
    files: [`${base}.${extension}`],
  };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
  const tsc = require.resolve("typescript/bin/tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", dir], { cwd: dir, encoding: "utf8" });
  } catch (error) {
    const { stdout } = error as { stdout?: string };
    throw new Error(`tsc failed in ${folder}:\n${stdout ?? String(error)}`);
  }
  const output = join(dir, "out", `${base}.${extension === "mts" ? "mjs" : "js"}`);
  return execFileSync(process.execPath, [output], { cwd: dir, encoding: "utf8" });
}
