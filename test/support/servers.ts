import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import "./exit-on-signal.js";

/**
 * Whether `binary` is on PATH. When it is missing the tests that need it skip, loudly; with
 * TRAFFIK_REQUIRE_SERVERS=1 (CI sets it) a missing binary fails the run instead.
 */
export function hasBinary(binary: string): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${binary}`]).status === 0;
  if (!found) {
    const message = `${binary} is not installed: its tests cannot run (apt-get install ${binary}).`;
    if (process.env.TRAFFIK_REQUIRE_SERVERS === "1") throw new Error(message);
    console.warn(`\n!!! SKIPPING: ${message}\n`);
  }
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Sends one inline command and returns the reply once `complete` says it has all of it. */
export function ask(
  port: number,
  command: string,
  complete = (reply: string) => reply.includes("\r\n"),
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    let reply = "";
    socket.setTimeout(1000, () => socket.destroy(new Error("timeout")));
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (complete(reply)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on("error", reject);
  });
}

export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * A server process that can be killed at once (as a crash would) and started again with the
 * same arguments; `start` resolves once `ready` says it answers.
 */
export function restartable(
  command: string,
  args: readonly string[],
  ready: () => Promise<boolean>,
  what: string,
): {
  start(): Promise<void>;
  kill(): Promise<void>;
  freeze(): Promise<void>;
  signal(name: NodeJS.Signals): void;
} {
  let child: ChildProcess | undefined;
  return {
    signal(name) {
      child?.kill(name);
    },
    async freeze() {
      child?.kill("SIGSTOP");
      // Resolves once the kernel shows the process stopped ("T"), so that nothing sent after
      // this is answered; without /proc, after a short pause.
      const stat = `/proc/${child?.pid}/stat`;
      for (let i = 0; i < 100; i++) {
        const state = existsSync(stat) ? /\) (\S)/.exec(readFileSync(stat, "utf8"))?.[1] : "?";
        if (state === "T" || state === "t") return;
        await sleep(5);
      }
    },
    async start() {
      child = spawn(command, args, { stdio: "ignore" });
      running.add(child);
      await waitFor(ready, what);
    },
    async kill() {
      if (child === undefined) return;
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      running.delete(child);
      child = undefined;
    },
  };
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server at once (as a crash would). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops the process where it stands (SIGSTOP): connections stay open, nothing answers. */
  freeze(): Promise<void>;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
  stop(): Promise<void>;
}

/** Starts a `redis-server` on a free loopback port, without persistence. */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "traffik-redis-"));
  const { start, kill, freeze, signal } = restartable(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...extraArgs,
    ],
    // A server with a password answers NOAUTH: it is up all the same.
    async () => /^(\+PONG|-NOAUTH)/.test(await ask(port, "PING")),
    `redis-server on ${port}`,
  );
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    start,
    freeze,
    thaw: () => signal("SIGCONT"),
    stop: async () => {
      signal("SIGCONT");
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Starts three `redis-server` masters and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const servers = await Promise.all(
    [0, 1, 2].map(() =>
      startRedis(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]),
    ),
  );
  const nodes = servers.map((server) => ({ host: "127.0.0.1", port: server.port }));
  execFileSync(
    "redis-cli",
    [
      "--cluster",
      "create",
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ],
    {
      stdio: "ignore",
    },
  );
  for (const node of nodes) {
    await waitFor(
      async () => (await clusterInfo(node.port)).includes("cluster_state:ok"),
      `cluster node ${node.port}`,
    );
  }
  return { nodes, stop: async () => void (await Promise.all(servers.map((s) => s.stop()))) };
}

function clusterInfo(port: number): Promise<string> {
  return ask(port, "CLUSTER INFO", (reply) => reply.includes("cluster_state"));
}

export interface MemcachedServer {
  readonly port: number;
  /** `host:port`, as MemcachedBackend's `servers` takes it. */
  readonly address: string;
  /** Kills the server at once (as a crash would). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Stops the process where it stands (SIGSTOP): connections stay open, nothing answers. */
  freeze(): Promise<void>;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
  stop(): Promise<void>;
}

/** Starts a `memcached` on a free loopback port (TCP only). */
export async function startMemcached(): Promise<MemcachedServer> {
  const port = await freePort();
  // memcached refuses to run as root unless told which user to be.
  const user = process.getuid?.() === 0 ? ["-u", "root"] : [];
  const { start, kill, freeze, signal } = restartable(
    "memcached",
    [...user, "-p", String(port), "-U", "0", "-l", "127.0.0.1"],
    async () => (await ask(port, "version")).startsWith("VERSION"),
    `memcached on ${port}`,
  );
  await start();
  return {
    port,
    address: `127.0.0.1:${port}`,
    kill,
    start,
    freeze,
    thaw: () => signal("SIGCONT"),
    stop: async () => {
      signal("SIGCONT");
      await kill();
    },
  };
}

/** The numbers of memcached's `stats`, by name. */
export async function memcachedStats(port: number): Promise<Record<string, number>> {
  const reply = await ask(port, "stats", (text) => text.includes("END\r\n"));
  const stats: Record<string, number> = {};
  for (const [, name, value] of reply.matchAll(/^STAT (\S+) (\S+)\r$/gm)) {
    stats[name as string] = Number(value);
  }
  return stats;
}
