import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "./servers.js";

/**
 * The directory holding PostgreSQL's server binaries (initdb, postgres), or `undefined`:
 * `pg_config --bindir` when it names one with `postgres` in it, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout, where `pg_config` may belong to the
 * client package only). When none is found the tests that need one skip, loudly; with
 * TRAFFIK_REQUIRE_SERVERS=1 (CI sets it) they fail instead.
 */
export function postgresBinaries(): string | undefined {
  const candidates: string[] = [];
  const configured = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  if (configured.status === 0) candidates.push(configured.stdout.trim());
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debian, version, "bin")));
  }
  const found = candidates.find((dir) => existsSync(join(dir, "postgres")));
  if (found === undefined) {
    const message =
      "PostgreSQL's server is not installed: its tests cannot run (apt-get install postgresql).";
    if (process.env.TRAFFIK_REQUIRE_SERVERS === "1") throw new Error(message);
    console.warn(`\n!!! SKIPPING: ${message}\n`);
  }
  return found;
}

/** A PostgreSQL server the tests started, on a loopback port, in a data directory of its own. */
export interface PostgresServer {
  readonly port: number;
  /** A `postgres://` URL for the superuser, to its `postgres` database. */
  readonly url: string;
  /** Stops the server at once, as a crash would (`immediate`: no checkpoint). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /**
   * Stops the server and every backend process of it where they stand (SIGSTOP): connections
   * stay open, nothing answers, new connections wait.
   */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) {
    // A frozen server (see `freeze`) would keep the SIGQUIT pending: let it run first.
    if (child.pid !== undefined) signalTree(child.pid, "SIGCONT");
    child.kill("SIGQUIT");
  }
});

/** Sends `signal` to `root` and every process under it, as far as they still run. */
function signalTree(root: number, signal: NodeJS.Signals): void {
  for (const pid of processTree(root)) {
    try {
      process.kill(pid, signal);
    } catch {
      // It ended between the listing and the signal.
    }
  }
}

/**
 * The command line running `binary` as the `postgres` system user when this process is root:
 * initdb and postgres refuse to run as root.
 */
function asServerUser(binary: string, args: readonly string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [binary, [...args]];
  return ["setpriv", ["--reuid=postgres", "--regid=postgres", "--clear-groups", binary, ...args]];
}

/** `root` and its descendants' process ids, from /proc (PostgreSQL forks one per connection). */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command (in parentheses, which may hold spaces): state, then ppid.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // The process ended meanwhile.
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

function owned(path: string): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
  const gid = Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
  chownSync(path, uid, gid);
}

/**
 * Starts a PostgreSQL server from `bin` (see {@link postgresBinaries}) in a fresh data
 * directory, trusting local connections, on a free loopback port with its socket in that
 * directory; fsync off, since a test's data need not survive a power cut (a crash of the
 * server alone loses nothing committed: the system still has its writes).
 */
export async function startPostgres(bin: string): Promise<PostgresServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "traffik-postgres-"));
  // The server user must reach the directory; mkdtemp makes it private to root.
  chmodSync(dir, 0o755);
  owned(dir);
  const data = join(dir, "data");
  const [initdb, initArgs] = asServerUser(join(bin, "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const init = spawnSync(initdb, initArgs, { encoding: "utf8" });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  const [postgres, serverArgs] = asServerUser(join(bin, "postgres"), [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=200",
  ]);
  const isReady = join(bin, "pg_isready");
  const ready = async () =>
    spawnSync(isReady, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"]).status === 0;
  const start = async () => {
    child = spawn(postgres, serverArgs, { stdio: "ignore" });
    running.add(child);
    await waitFor(ready, `postgres on ${port}`, 30_000);
  };
  const kill = async () => {
    const stopping = child;
    if (stopping === undefined) return;
    child = undefined;
    const exited = new Promise((resolve) => stopping.once("exit", resolve));
    // SIGQUIT is PostgreSQL's immediate shutdown: its backends die at once, as in a crash.
    stopping.kill("SIGQUIT");
    await exited;
    running.delete(stopping);
  };
  try {
    await start();
  } catch (error) {
    await kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const signalAll = (signal: NodeJS.Signals) => {
    if (child?.pid !== undefined) signalTree(child.pid, signal);
  };
  return {
    port,
    url,
    kill,
    start,
    freeze: () => signalAll("SIGSTOP"),
    thaw: () => signalAll("SIGCONT"),
    stop: async () => {
      signalAll("SIGCONT");
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
