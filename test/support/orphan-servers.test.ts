import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createConnection } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { hasBinary, waitFor } from "./servers.js";

const haveServers = hasBinary("redis-server") && hasBinary("memcached");

/** Whether something accepts connections on the loopback `port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("a test process ended by a signal", { skip: !haveServers, timeout: 60_000 }, () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`takes the servers it started with it (${signal}, as the runner ends a file that overran)`, async (t) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", new URL("./servers-child.ts", import.meta.url).pathname],
        { stdio: ["pipe", "pipe", "inherit"] },
      );
      const exited = once(child, "exit");
      // However the test ends, the child goes through its exit handlers (its stdin ends).
      t.after(async () => {
        child.stdin.end();
        await exited;
      });
      let printed = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        printed += chunk;
      });
      while (!printed.includes("\n")) {
        const ended = await Promise.race([exited.then(() => true), sleep(20).then(() => false)]);
        assert.ok(!ended, `the child ended before it printed its servers: ${printed}`);
      }
      const ports = JSON.parse(printed) as { redis: number; memcached: number };
      assert.ok(await listening(ports.redis), "the child's redis-server is up");
      assert.ok(await listening(ports.memcached), "the child's memcached is up");
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      assert.equal(code, signal === "SIGTERM" ? 143 : 130, "it exits through process.exit");
      // SIGKILL'd in the child's exit handler: gone in a moment.
      await waitFor(async () => !(await listening(ports.redis)), "the redis-server to go", 5000);
      await waitFor(async () => !(await listening(ports.memcached)), "memcached to go", 5000);
    });
  }
});
