import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { BackendError } from "../../src/errors.js";
import { Deadlines } from "../../src/internal/deadlines.js";

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

const isTimeout = (error: unknown) =>
  error instanceof BackendError && error.code === "ERR_TRAFFIK_BACKEND_TIMEOUT";

describe("Deadlines", () => {
  it("passes an answer through map, and a failure through recover", async () => {
    const deadlines = new Deadlines(1000, "test");
    assert.equal(await deadlines.guard(Promise.resolve(2), (n) => n * 10), 20);
    const recovered = await deadlines.guard(
      Promise.reject(new Error("down")),
      (n: number) => String(n),
      (error) => `recovered ${(error as Error).message}`,
    );
    assert.equal(recovered, "recovered down");
    await assert.rejects(deadlines.guard(Promise.reject(new Error("down"))), /down/);
    await assert.rejects(
      deadlines.guard(Promise.resolve(1), () => {
        throw new Error("map failed");
      }),
      /map failed/,
    );
  });

  it("times out each call that does not answer, whatever answers around it", async () => {
    const deadlines = new Deadlines(30, "test");
    const first = deferred<string>();
    const second = deferred<string>();
    const third = deferred<string>();
    const outcomes = [first, second, third].map((call) =>
      deadlines.guard(call.promise).then(
        (value) => value,
        (error: unknown) => (isTimeout(error) ? "timed out" : "other error"),
      ),
    );
    // The middle call answers; the ones before and after it never do.
    second.resolve("answered");
    assert.deepEqual(await Promise.all(outcomes), ["timed out", "answered", "timed out"]);
    // A late answer changes nothing.
    first.resolve("late");
    third.reject(new Error("late"));
    assert.deepEqual(await Promise.all(outcomes), ["timed out", "answered", "timed out"]);
  });

  it("hands a timeout to recover, and keeps guarding calls made after one timed out", async () => {
    const deadlines = new Deadlines(20, 'Backend "x"');
    const hung = deferred<number>();
    const answer = await deadlines.guard(
      hung.promise,
      (n) => n,
      (error) => (isTimeout(error) ? -1 : -2),
    );
    assert.equal(answer, -1);
    const error = await deadlines.guard(new Promise<number>(() => {})).catch((e: unknown) => e);
    assert.ok(isTimeout(error));
    assert.match((error as Error).message, /Backend "x" did not answer within 20 ms/);
    assert.equal(await deadlines.guard(Promise.resolve(7)), 7);
  });

  it("times out a call waiting behind many answered ones", async () => {
    const deadlines = new Deadlines(30, "test");
    const hung = deadlines.guard(new Promise<number>(() => {})).catch((e: unknown) => e);
    const answered = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => deadlines.guard(Promise.resolve(i))),
    );
    assert.equal(answered.length, 1000);
    assert.ok(isTimeout(await hung));
  });
});

describe("Deadlines when the process is busy", () => {
  it("takes an answer that arrived in time, though the timer is due when the process looks", async (t) => {
    // The server is another process, so it answers while this one is busy.
    const server = spawn(
      process.execPath,
      [
        "-e",
        `const s = require("node:net").createServer((c) => c.on("data", () => c.write("answer")));
         s.listen(0, "127.0.0.1", () => console.log(s.address().port));`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    t.after(() => server.kill());
    const [port] = (await once(server.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
    const client = connect(Number(String(port)), "127.0.0.1");
    t.after(() => client.destroy());
    await once(client, "connect");
    const deadlines = new Deadlines(20, "test");
    const answer = once(client, "data").then(([data]) => String(data));
    const guarded = deadlines.guard(answer);
    client.write("question");
    // Busy past the deadline: the answer arrives meanwhile and waits in the socket.
    const until = performance.now() + 200;
    while (performance.now() < until) {}
    assert.equal(await guarded, "answer");
  });
});
