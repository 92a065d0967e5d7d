/**
 * One source, compiled by test/package/exports.test.ts against the packed package in two
 * worlds: `experimentalDecorators` with `"module": "commonjs"` and no `moduleResolution` (node10,
 * as many NestJS projects still have), and standard (TC39) decorators as an ES module. Each
 * build is run; it prints what it saw.
 */
import { HTTPThrottle, throttled } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ConnectionThrottled } from "traffik/errors";

declare const console: { log(message: string): void };

const backend = new InMemoryBackend({ namespace: "consumer", clock: () => 0 });
const perClient = new HTTPThrottle({ uid: "reports", rate: "1/m", backend });

class Reports {
  calls = 0;

  @throttled(perClient)
  async export(request: { ip: string }, format: string): Promise<string> {
    this.calls++;
    return `${request.ip}.${format}`;
  }
}

async function main(): Promise<void> {
  const reports = new Reports();
  const first = await reports.export({ ip: "192.0.2.1" }, "csv");
  const second = await reports.export({ ip: "192.0.2.1" }, "pdf").then(
    () => "admitted",
    (error: unknown) => (error instanceof ConnectionThrottled ? "throttled" : String(error)),
  );
  console.log(JSON.stringify({ first, second, calls: reports.calls }));
}

void main();
