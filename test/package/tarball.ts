import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** Everything the build and `npm pack` read, besides `src/`. */
const INPUTS = [
  "package.json",
  "package-lock.json",
  "tsup.config.ts",
  "tsconfig.json",
  "README.md",
  "LICENSE",
];
/** Longer than a build and pack take on a loaded 2-core machine; bounds a holder that hangs. */
const LOCK_WAIT_MS = 100_000;
/** A cached tarball of other sources this old is gone for good (no test file still copies it). */
const STALE_MS = 3_600_000;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

/** A hash of the sources the tarball is made from: equal hashes, equal tarballs. */
function sourcesHash(root: string): string {
  const hash = createHash("sha256");
  const files = [...filesUnder(join(root, "src")), ...INPUTS.map((name) => join(root, name))];
  for (const file of files.sort()) {
    hash.update(relative(root, file)).update("\0");
    if (existsSync(file)) hash.update(readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `work` holding a lock shared by the processes of this checkout (a directory, made
 * atomically, naming its holder): two test files building at once would clean each other's
 * `dist/`. A lock whose holder died is taken over.
 */
function withLock<T>(lock: string, work: () => T): T {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(lock, "pid"), "utf8"));
    } catch {
      // Being taken or given up just now: try again.
    }
    if (holder > 0 && !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
    if (Date.now() > deadline) throw new Error(`${lock} held for over ${LOCK_WAIT_MS} ms`);
    Atomics.wait(sleeper, 0, 0, 200);
  }
  try {
    return work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * The package's tarball for the sources as they stand: built and packed once, then shared by
 * every test file that installs it (they run side by side, and a suite run three times in a
 * row builds once). Kept in the OS temp directory under a hash of the sources.
 */
export function packedTarball(root: string): string {
  const checkout = createHash("sha256").update(root).digest("hex").slice(0, 8);
  const cache = join(tmpdir(), `traffik-packed-${checkout}-${sourcesHash(root)}`);
  const found = () => readdirSync(cache).find((name) => name.endsWith(".tgz"));
  if (existsSync(cache)) return join(cache, found() as string);
  return withLock(join(tmpdir(), `traffik-packed-${checkout}.lock`), () => {
    if (existsSync(cache)) return join(cache, found() as string);
    execFileSync("npm", ["run", "build"], { cwd: root, stdio: "ignore" });
    const building = mkdtempSync(`${cache}.building-`);
    execFileSync("npm", ["pack", "--pack-destination", building], { cwd: root, stdio: "ignore" });
    renameSync(building, cache);
    for (const name of readdirSync(tmpdir())) {
      const old = join(tmpdir(), name);
      const ours = name.startsWith(`traffik-packed-${checkout}-`) && old !== cache;
      if (ours && Date.now() - statSync(old).mtimeMs > STALE_MS) {
        rmSync(old, { recursive: true, force: true });
      }
    }
    return join(cache, found() as string);
  });
}
