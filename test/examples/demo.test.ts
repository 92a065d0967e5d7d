import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { it } from "node:test";
import { freePort } from "../support/servers.js";

const root = join(import.meta.dirname, "..", "..");

it("the README's demo (npm start) serves on PORT for curl, throttles, and stops on SIGTERM", async (t) => {
  const port = await freePort();
  const demo = spawn(process.execPath, ["--import", "tsx", "examples/demo.ts"], {
    cwd: root,
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => demo.kill("SIGKILL"));
  let printed = "";
  demo.stdout.setEncoding("utf8");
  while (!printed.includes("Listening")) {
    const [chunk] = (await once(demo.stdout, "data")) as [string];
    printed += chunk;
  }
  assert.match(printed, new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
  const statuses: number[] = [];
  const headers: Headers[] = [];
  for (let i = 0; i < 6; i++) {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      headers: { connection: "close" },
    });
    statuses.push(response.status);
    headers.push(response.headers);
    await response.text();
  }
  // What curl shows: the rate-limit headers on the 200s and on the 429, and Retry-After on it.
  for (const sent of headers) {
    assert.match(sent.get("ratelimit") ?? "", /r=\d+/);
    assert.ok(sent.get("ratelimit-policy"), "a RateLimit-Policy header");
  }
  assert.ok(headers[5]?.get("retry-after"), "the 429 says when to come back");
  // A burst of 3, then 2 a second (a slow machine may see a token come back), and never more
  // than 5 a minute: the sixth is refused whatever the timing.
  assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
  assert.equal(statuses[5], 429);
  demo.kill("SIGTERM");
  const [code] = (await once(demo, "exit")) as [number | null];
  assert.equal(code, 0, "it closes the server and the backend, then exits");
});

it("the demo drives itself with --self-drive: throttles, and admits again after the wait", () => {
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", "examples/demo.ts", "--self-drive"],
    {
      cwd: root,
      encoding: "utf8",
      // Synchronous, so no timer of this process could end a hung demo: the child has a limit.
      timeout: 50_000,
    },
  );
  const statuses = [...output.matchAll(/^request \d+: (\d{3})/gm)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429, 429, 429, 200]);
  assert.match(output, /Retry-After: 1/);
});
