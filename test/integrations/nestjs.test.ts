import "reflect-metadata";
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { Controller, Get, Module, Post } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { WsAdapter } from "@nestjs/platform-ws";
import { SubscribeMessage, WebSocketGateway } from "@nestjs/websockets";
import { parseList } from "structured-headers";
import { HTTPThrottle, WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { SkipThrottle, Throttled, TraffikModule } from "traffik/nestjs";
import { SlidingWindowLogStrategy } from "traffik/strategies";
import { WebSocket } from "ws";

// Nest's decorators are legacy (experimental) decorators; this project compiles standard ones,
// so the test applies them as functions, which is what the `@` syntax does in a Nest project.
// biome-ignore lint/complexity/noBannedTypes: Nest's class decorators take any class.
function decorate(target: Function, method: string | undefined, ...decorators: unknown[]): void {
  if (method === undefined) {
    Reflect.decorate(decorators as ClassDecorator[], target);
  } else {
    const proto = target.prototype as object;
    const descriptor = Object.getOwnPropertyDescriptor(proto, method);
    Reflect.decorate(decorators as MethodDecorator[], proto, method, descriptor);
  }
}

class WatchedBackend extends InMemoryBackend {
  closed = 0;
  override async close(): Promise<void> {
    this.closed++;
    await super.close();
  }
}

/** A fresh app: a throttled controller, an open one, and a chat gateway. */
function appModule(backend: InMemoryBackend) {
  const strategy = new SlidingWindowLogStrategy();
  const everyone = new HTTPThrottle({ uid: "everyone", rate: "100/m", strategy });
  const perUser = new HTTPThrottle({ uid: "per-user", rate: "3/m", strategy });
  const exportsLimit = new HTTPThrottle({ uid: "exports", rate: "1/m", strategy });
  const messages = new WebSocketThrottle({ uid: "messages", rate: "2/m", strategy });

  class ReportsController {
    list() {
      return { reports: [] };
    }
    create() {
      return { created: true };
    }
    health() {
      return { healthy: true };
    }
  }
  decorate(ReportsController, undefined, Controller("reports"), Throttled(perUser));
  decorate(ReportsController, "list", Get());
  decorate(ReportsController, "create", Post(), Throttled(exportsLimit));
  decorate(ReportsController, "health", Get("health"), SkipThrottle());

  class ChatGateway {
    say(_client: unknown, data: unknown) {
      return { event: "said", data };
    }
  }
  // Skipped at the class, the gateway keeps only what its handlers ask for.
  decorate(ChatGateway, undefined, WebSocketGateway({ path: "/chat" }), SkipThrottle());
  decorate(ChatGateway, "say", SubscribeMessage("say"), Throttled(messages));

  class AppModule {}
  decorate(
    AppModule,
    undefined,
    Module({
      imports: [TraffikModule.forRoot({ backend, throttles: [everyone] })],
      controllers: [ReportsController],
      providers: [ChatGateway],
    }),
  );
  return AppModule;
}

const limits = (response: Response) =>
  Object.fromEntries(
    parseList(response.headers.get("ratelimit") ?? "").map(([name, p]) => [
      String(name),
      p.get("r"),
    ]),
  );

for (const platform of ["express", "fastify"] as const) {
  describe(`NestJS on ${platform}`, () => {
    const backend = new WatchedBackend({ namespace: `nest-${platform}` });
    let app: Awaited<ReturnType<typeof NestFactory.create>>;
    let url = "";
    before(async () => {
      const module = appModule(backend);
      app =
        platform === "fastify"
          ? await NestFactory.create(module, new FastifyAdapter(), { logger: false })
          : await NestFactory.create(module, { logger: false });
      app.useWebSocketAdapter(new WsAdapter(app));
      await app.listen(0, "127.0.0.1");
      url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
    });
    after(async () => {
      await app.close();
      assert.equal(backend.closed, 1, "the backend closes with the app");
    });

    it("throttles a controller: the module's and the controller's throttles, headers, then 429", async () => {
      for (const r of [2, 1, 0]) {
        const response = await fetch(`${url}/reports`);
        assert.equal(response.status, 200);
        assert.deepEqual(limits(response), { everyone: 99 - (2 - r), "per-user": r });
      }
      const throttled = await fetch(`${url}/reports`);
      assert.equal(throttled.status, 429);
      const retryAfter = Number(throttled.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60);
      assert.deepEqual(await throttled.json(), {
        detail: `Too many requests. Retry in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`,
        retryAfter,
      });
      assert.equal(limits(throttled)["per-user"], 0);
    });

    it("adds a handler's throttles to the controller's, all or nothing; skips where told", async () => {
      const other = { headers: { "x-forwarded-for": "ignored" } };
      const health = await fetch(`${url}/reports/health`, other);
      assert.equal(health.status, 200);
      assert.equal(health.headers.get("ratelimit"), null, "skipped: no throttle, no header");
      // per-user is spent by the test above: the POST is rejected, and exports counts nothing.
      const rejected = await fetch(`${url}/reports`, { method: "POST" });
      assert.equal(rejected.status, 429);
      assert.equal(limits(rejected).exports, 1, "exports did not count the rejected request");
    });

    it("throttles gateway messages, answering rate_limit and skipping the handler", async () => {
      const client = new WebSocket(`${url.replace("http", "ws")}/chat`);
      await once(client, "open");
      const replies: { event?: string; data?: { type?: string } }[] = [];
      const three = new Promise<void>((resolve) =>
        client.on("message", (data) => {
          replies.push(JSON.parse(String(data)));
          if (replies.length === 3) resolve();
        }),
      );
      for (let n = 0; n < 3; n++) client.send(JSON.stringify({ event: "say", data: n }));
      await three;
      client.close();
      // A gateway handles messages concurrently: the rejection may overtake the answers.
      const said = replies.filter((r) => r.event === "said");
      const refused = replies.filter((r) => r.event === "exception");
      assert.equal(said.length, 2);
      assert.equal(refused.length, 1);
      assert.equal(refused[0]?.data?.type, "rate_limit");
    });
  });
}

describe("NestJS: forRootAsync", () => {
  it("takes its options from a factory", async () => {
    const backend = new InMemoryBackend({ namespace: "nest-async" });
    const perClient = new HTTPThrottle({ uid: "async", rate: "1/m" });
    class PingController {
      ping() {
        return "pong";
      }
    }
    decorate(PingController, undefined, Controller());
    decorate(PingController, "ping", Get("ping"));
    class AppModule {}
    decorate(
      AppModule,
      undefined,
      Module({
        imports: [
          TraffikModule.forRootAsync({
            useFactory: async () => ({ backend, throttles: [perClient] }),
          }),
        ],
        controllers: [PingController],
      }),
    );
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, "127.0.0.1");
    const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
    try {
      assert.equal((await fetch(`${url}/ping`)).status, 200);
      assert.equal((await fetch(`${url}/ping`)).status, 429);
    } finally {
      await app.close();
    }
  });
});

describe("NestJS: the module's mode, denyList and allowList", () => {
  /** A Nest app with one 1/m module throttle on GET /ping, and the module options given. */
  async function pingApp(uid: string, options: Record<string, unknown>) {
    const backend = new InMemoryBackend({ namespace: `nest-${uid}` });
    const perClient = new HTTPThrottle({ uid, rate: "1/m" });
    class PingController {
      ping() {
        return "pong";
      }
    }
    decorate(PingController, undefined, Controller());
    decorate(PingController, "ping", Get("ping"));
    class AppModule {}
    decorate(
      AppModule,
      undefined,
      Module({
        imports: [TraffikModule.forRoot({ backend, throttles: [perClient], ...options })],
        controllers: [PingController],
      }),
    );
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, "127.0.0.1");
    const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
    return { get: () => fetch(`${url}/ping`), close: () => app.close() };
  }

  it("mode shadow: the guard's throttles never reject", async () => {
    const app = await pingApp("nest-shadow", { mode: "shadow" });
    try {
      for (let n = 0; n < 3; n++) assert.equal((await app.get()).status, 200);
    } finally {
      await app.close();
    }
  });

  it("denyList: 403 with a JSON detail and no Retry-After; allowList: exempt", async () => {
    const denied = await pingApp("nest-deny", { denyList: ["127.0.0.0/8", "::1"] });
    try {
      const response = await denied.get();
      assert.equal(response.status, 403);
      assert.equal(response.headers.get("retry-after"), null);
      assert.deepEqual(await response.json(), {
        detail: "Forbidden: requests from this address are refused.",
      });
    } finally {
      await denied.close();
    }
    const allowed = await pingApp("nest-allow", { allowList: ["127.0.0.0/8", "::1"] });
    try {
      for (let n = 0; n < 3; n++) assert.equal((await allowed.get()).status, 200);
    } finally {
      await allowed.close();
    }
  });
});
