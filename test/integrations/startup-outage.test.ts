import "reflect-metadata";
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Controller, Get, Module, Req } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import Fastify, { type FastifyRequest } from "fastify";
import { HTTPThrottle } from "traffik";
import type { ThrottleBackend } from "traffik/backend";
import { MemcachedBackend } from "traffik/backends/memcached";
import { RedisBackend } from "traffik/backends/redis";
import { BackendConfigurationError, BackendError } from "traffik/errors";
import { MiddlewareThrottle, ThrottleMiddleware } from "traffik/fastify";
import type { RateLimitDecision } from "traffik/nestjs";
import { TraffikModule } from "traffik/nestjs";
import { ScriptedBackend } from "../backends/degraded/scripted-backend.js";
import { outageWarnings } from "../support/failover-traffic.js";
import { hasBinary, type RedisServer, startMemcached, startRedis } from "../support/servers.js";

const enabled = hasBinary("redis-server");
const LIMIT = 3;

/** A Redis server, down (killed) unless `up`, and a backend on it; all closed when `t` ends. */
async function redisFor(
  t: TestContext,
  {
    up = false,
    password,
    degradedMode = true,
  }: { up?: boolean; password?: string; degradedMode?: boolean } = {},
): Promise<{ server: RedisServer; backend: RedisBackend }> {
  const server = await startRedis(password === undefined ? [] : ["--requirepass", password]);
  if (!up) await server.kill();
  const backend = new RedisBackend({
    connection: `redis://${password === undefined ? "" : ":wrong@"}127.0.0.1:${server.port}`,
    namespace: "startup",
    timeoutMs: 500,
    degradedMode,
  });
  t.after(async () => {
    await backend.close().catch(() => {});
    await server.stop();
  });
  return { server, backend };
}

/** Fastify with one app-wide throttle of {@link LIMIT} a minute on `backend`, answering its source. */
async function fastifyOn(backend: ThrottleBackend) {
  const throttle = new HTTPThrottle<FastifyRequest>({ uid: "f", rate: `${LIMIT}/m`, backend });
  const app = Fastify();
  await app.register(ThrottleMiddleware, {
    backend,
    middlewareThrottles: [MiddlewareThrottle(throttle)],
  });
  app.get("/", async (request) => ({ source: request.traffik?.decisions[0]?.source }));
  return app;
}

/** A Nest app (Express platform) with one module throttle of {@link LIMIT} a minute on `backend`. */
function nestModuleOn(backend: RedisBackend) {
  const throttle = new HTTPThrottle({ uid: "n", rate: `${LIMIT}/m` });
  class PingController {
    ping(request: { traffik?: RateLimitDecision }) {
      return { source: request.traffik?.decisions[0]?.source };
    }
  }
  Reflect.decorate([Controller()], PingController);
  const proto = PingController.prototype;
  Reflect.decorate([Get("ping")], proto, "ping", Object.getOwnPropertyDescriptor(proto, "ping"));
  Req()(proto, "ping", 0);
  class AppModule {}
  Reflect.decorate(
    [
      Module({
        imports: [TraffikModule.forRoot({ backend, throttles: [throttle] })],
        controllers: [PingController],
      }),
    ],
    AppModule,
  );
  return AppModule;
}

describe("An app started while its Redis is down, in degraded mode (the default)", {
  skip: !enabled,
  timeout: 60_000,
}, () => {
  it("Fastify: onReady does not fail; requests are decided in-process, within the limit, until Redis starts", async (t) => {
    const { server, backend } = await redisFor(t);
    const watching = outageWarnings();
    t.after(() => watching.stop());
    const app = await fastifyOn(backend);
    t.after(() => app.close());
    await app.ready();
    assert.deepEqual(
      watching.warnings.map((w) => (w as { code?: string }).code),
      ["TRAFFIK_BACKEND_OUTAGE"],
      "the outage is told once, at startup",
    );
    const answers = [];
    for (let i = 0; i < LIMIT + 2; i++) answers.push(await app.inject({ url: "/" }));
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [...Array(LIMIT).fill(200), 429, 429],
    );
    assert.deepEqual(answers[0]?.json(), { source: "degraded" });
    await server.start();
    let source: string | undefined = "degraded";
    for (let polls = 0; source !== "backend"; polls++) {
      assert.ok(polls < 60, "back on Redis within 60 polls, 50 ms apart");
      await sleep(50);
      source = (await app.inject({ url: "/", remoteAddress: "198.51.100.7" })).json().source;
    }
  });

  it("Fastify: a refused password still fails the start", async (t) => {
    const { backend } = await redisFor(t, { up: true, password: "secret" });
    const app = await fastifyOn(backend);
    t.after(() => app.close().catch(() => {}));
    await assert.rejects(async () => {
      await app.ready();
    }, BackendConfigurationError);
  });

  it("NestJS: module init does not fail; requests are decided in-process, within the limit", async (t) => {
    const { backend } = await redisFor(t);
    const app = await NestFactory.create(nestModuleOn(backend), { logger: false });
    t.after(() => app.close());
    await app.listen(0, "127.0.0.1");
    const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
    const answers = [];
    for (let i = 0; i < LIMIT + 1; i++) answers.push(await fetch(`${url}/ping`));
    assert.deepEqual(
      answers.map((a) => a.status),
      [...Array(LIMIT).fill(200), 429],
    );
    assert.deepEqual(await answers[0]?.json(), { source: "degraded" });
  });

  it("NestJS: a refused password still fails the start", async (t) => {
    const { backend } = await redisFor(t, { up: true, password: "secret" });
    const app = await NestFactory.create(nestModuleOn(backend), {
      logger: false,
      abortOnError: false,
    });
    t.after(() => app.close().catch(() => {}));
    await assert.rejects(app.init(), BackendConfigurationError);
  });
});

describe("An app whose backend is slow to start, or refuses late", () => {
  it("Fastify: a start slower than timeoutMs but sound is no outage", async (t) => {
    const backend = new ScriptedBackend("slow-start", [{ ms: 300 }], 100);
    const watching = outageWarnings();
    const app = await fastifyOn(backend);
    t.after(async () => {
      watching.stop();
      await app.close();
    });
    await app.ready();
    assert.equal(backend.initializeCalls, 1);
    assert.deepEqual((await app.inject({ url: "/" })).json(), { source: "backend" });
    await sleep(0);
    assert.deepEqual(watching.warnings, [], "no outage began, none ended");
  });

  it("Fastify: a refusal that comes after timeoutMs still fails the start", async (t) => {
    const refused = new BackendConfigurationError("WRONGPASS");
    const backend = new ScriptedBackend("late-refusal", [{ ms: 300, error: refused }], 100);
    const app = await fastifyOn(backend);
    t.after(() => app.close().catch(() => {}));
    await assert.rejects(async () => {
      await app.ready();
    }, refused);
  });
});

describe("An app started while its backend is down, otherwise", () => {
  it("Fastify on Memcached down, in degraded mode: starts, and decides in-process", {
    skip: !hasBinary("memcached"),
  }, async (t) => {
    const server = await startMemcached();
    await server.kill();
    const backend = new MemcachedBackend({ servers: [server.address], namespace: "startup" });
    const app = await fastifyOn(backend);
    t.after(async () => {
      await app.close();
      await server.stop();
    });
    await app.ready();
    assert.deepEqual((await app.inject({ url: "/" })).json(), { source: "degraded" });
  });

  it("Fastify on Redis down with degradedMode: false: the start fails", {
    skip: !enabled,
  }, async (t) => {
    const { backend } = await redisFor(t, { degradedMode: false });
    const app = await fastifyOn(backend);
    t.after(() => app.close().catch(() => {}));
    await assert.rejects(async () => {
      await app.ready();
    }, BackendError);
  });
});
