import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { ConfigurationError, ConnectionThrottled } from "../../src/errors.js";
import { HTTPThrottle, throttled } from "../../src/index.js";

const conn = (ip: string) => ({ ip });
/** Time standing still: no window ends while a test runs, however slowly it runs. */
const stillClock = () => 0;

describe("throttled: the original's @throttled for TypeScript", () => {
  it("throttles a class method as a standard decorator, by its first argument", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    const perClient = new HTTPThrottle({ uid: "method", rate: "2/m", backend });
    class Reports {
      calls = 0;
      @throttled(perClient)
      async export(request: { ip: string }, format: string) {
        this.calls++;
        return `${request.ip}.${format}`;
      }
    }
    const reports = new Reports();
    assert.equal(await reports.export(conn("192.0.2.1"), "csv"), "192.0.2.1.csv");
    assert.equal(await reports.export(conn("192.0.2.1"), "pdf"), "192.0.2.1.pdf");
    await assert.rejects(reports.export(conn("192.0.2.1"), "csv"), ConnectionThrottled);
    assert.equal(reports.calls, 2, "a throttled call never reaches the method");
    assert.equal(await reports.export(conn("192.0.2.2"), "csv"), "192.0.2.2.csv");
  });

  it("wraps a plain handler, finding the connection where told, several throttles all or nothing", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    const short = new HTTPThrottle({ uid: "short", rate: "1/m", backend });
    const long = new HTTPThrottle({ uid: "long", rate: "5/m", backend });
    const handler = throttled(
      [short, long],
      async (body: string, request: { ip: string }) => `${body} from ${request.ip}`,
      { connection: (_body, request) => request },
    );
    assert.equal(await handler("hi", conn("198.51.100.1")), "hi from 198.51.100.1");
    await assert.rejects(handler("again", conn("198.51.100.1")), ConnectionThrottled);
    assert.equal(
      (await long.peek(conn("198.51.100.1"))).remaining,
      3,
      "the rejection counted nowhere",
    );
  });

  it("throttles a method under experimentalDecorators too: prototype, name and descriptor", async () => {
    const backend = new InMemoryBackend({ clock: stillClock });
    const perClient = new HTTPThrottle({ uid: "legacy", rate: "1/m", backend });
    class Reports {
      calls = 0;
      async export(request: { ip: string }) {
        this.calls++;
        return request.ip;
      }
    }
    // What TypeScript's legacy `__decorate` does: call with the descriptor, then define it.
    const descriptor = Object.getOwnPropertyDescriptor(Reports.prototype, "export");
    assert.ok(descriptor);
    const returned: unknown = throttled(perClient)(Reports.prototype, "export", descriptor);
    Object.defineProperty(
      Reports.prototype,
      "export",
      (returned as PropertyDescriptor) ?? descriptor,
    );
    const reports = new Reports();
    assert.equal(await reports.export(conn("192.0.2.1")), "192.0.2.1");
    await assert.rejects(reports.export(conn("192.0.2.1")), ConnectionThrottled);
    assert.equal(reports.calls, 1, "a throttled call never reaches the method");
    assert.throws(
      () => throttled(perClient)(Reports.prototype, "calls", { value: 0 }),
      ConfigurationError,
    );
  });

  it("rejects anything but throttles at once", () => {
    assert.throws(() => throttled([] as never), ConfigurationError);
    assert.throws(() => throttled({} as never), ConfigurationError);
  });
});
