/**
 * Throttles made once, at module level, used by two apps built one after the other in one
 * process, each with a backend of its own (as an end-to-end suite does): each app counts from
 * zero on its own backend, and the first app's closed backend is never used again.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { Controller, Get, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import express from "express";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { RedisBackend } from "traffik/backends/redis";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/express";
import { Throttled, TraffikModule } from "traffik/nestjs";
import type { ThrottleBackend } from "../../src/backends/base.js";
import { hasBinary, startRedis } from "../support/servers.js";

// Module level: made once, before any app.
const appWide = new HTTPThrottle({ uid: "app-wide", rate: "5/h" });
const perRoute = new HTTPThrottle({ uid: "per-route", rate: "2/h" });
const perController = new HTTPThrottle({ uid: "per-controller", rate: "2/h" });

async function listening(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** An Express app on `backend`: statuses of three requests to a route limited to 2. */
async function expressApp(backend: ThrottleBackend): Promise<number[]> {
  const app = express();
  app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(appWide)] }));
  app.get("/", throttled(perRoute), (_req, res) => {
    res.send("ok");
  });
  const server = createServer(app);
  try {
    const url = await listening(server);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(url)).status);
    return statuses;
  } finally {
    await closing(server);
    await backend.close();
  }
}

describe("two apps, one after the other, each with its own backend", () => {
  it("in memory: each counts from zero (the first backend keeps its counts)", async () => {
    const first = new InMemoryBackend({ namespace: "first", persistent: true });
    assert.deepEqual(await expressApp(first), [200, 200, 429]);
    const second = new InMemoryBackend({ namespace: "second" });
    assert.deepEqual(await expressApp(second), [200, 200, 429]);
  });

  it("on Redis: each counts from zero on its own namespace", {
    skip: !hasBinary("redis-server"),
  }, async (t) => {
    const server = await startRedis();
    t.after(() => server.stop());
    // A deadline no stall of a loaded machine reaches: every request must reach Redis here.
    const options = { connection: server.url, timeoutMs: 60_000 };
    const first = new RedisBackend({ ...options, namespace: "first" });
    assert.deepEqual(await expressApp(first), [200, 200, 429]);
    const second = new RedisBackend({ ...options, namespace: "second" });
    assert.deepEqual(await expressApp(second), [200, 200, 429]);
  });

  it("on NestJS: a module-level throttle across two app instances", async () => {
    class HelloController {
      hello() {
        return { hello: true };
      }
    }
    Reflect.decorate(
      [Controller("hello"), Throttled(perController)] as ClassDecorator[],
      HelloController,
    );
    const descriptor = Object.getOwnPropertyDescriptor(HelloController.prototype, "hello");
    Reflect.decorate([Get()] as MethodDecorator[], HelloController.prototype, "hello", descriptor);

    for (const namespace of ["nest-first", "nest-second"]) {
      const backend = new InMemoryBackend({ namespace, persistent: true });
      class AppModule {}
      Reflect.decorate(
        [
          Module({ imports: [TraffikModule.forRoot({ backend })], controllers: [HelloController] }),
        ] as ClassDecorator[],
        AppModule,
      );
      const app = await NestFactory.create(AppModule, { logger: false });
      try {
        await app.listen(0, "127.0.0.1");
        const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/hello`)).status);
        assert.deepEqual(statuses, [200, 200, 429], namespace);
      } finally {
        await app.close();
      }
      assert.equal(backend.isClosed, true, "the backend closes with the app");
    }
  });
});
