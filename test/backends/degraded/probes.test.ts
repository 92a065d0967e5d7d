import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BackendConfigurationError, BackendConnectionError } from "../../../src/errors.js";
import { HTTPThrottle } from "../../../src/index.js";
import { outageWarnings } from "../../support/failover-traffic.js";
import { ScriptedBackend } from "./scripted-backend.js";

describe("Degraded mode's probes", () => {
  it("a probe that meets a misconfiguration fails its request, and the next probe tries again", async (t) => {
    const backend = new ScriptedBackend("probes", [
      { error: new BackendConnectionError("down") },
      { error: new BackendConfigurationError("WRONGPASS") },
      {},
    ]);
    const watching = outageWarnings();
    t.after(async () => {
      watching.stop();
      await backend.close();
    });
    const throttle = new HTTPThrottle<string>({
      uid: "p",
      rate: "100/m",
      backend,
      identifier: (id) => id,
    });
    assert.equal((await throttle.tryHit("c")).source, "degraded", "the outage begins");
    await sleep(30); // past probeIntervalMs (20)
    await assert.rejects(
      throttle.tryHit("c"),
      BackendConfigurationError,
      "the probe is refused, loudly",
    );
    await sleep(30);
    assert.equal((await throttle.tryHit("c")).source, "backend", "the next probe starts it");
    assert.equal(backend.initializeCalls, 3);
    await sleep(0);
    assert.deepEqual(
      watching.warnings.map((w) => (w as { code?: string }).code),
      ["TRAFFIK_BACKEND_OUTAGE", "TRAFFIK_BACKEND_RECOVERED"],
    );
  });
});
