/**
 * NestJS: the decision injected with `@RateLimitDecision()` (and set as `request.traffik`),
 * the module's hooks over the guard's decisions, a handler's and a gateway's, and the module's
 * `message` and `statusCode` for the throttled answer; on Express and on Fastify.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { Controller, Get, Module, Req } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { WsAdapter } from "@nestjs/platform-ws";
import { SubscribeMessage, WebSocketGateway } from "@nestjs/websockets";
import { type DecisionEvent, HTTPThrottle, type ThrottledEvent, WebSocketThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { ConfigurationError } from "traffik/errors";
import { RateLimitDecision, Throttled, TraffikGuard, TraffikModule } from "traffik/nestjs";
import { SlidingWindowLogStrategy } from "traffik/strategies";
import { WebSocket } from "ws";

// Nest's decorators applied as functions, as test/integrations/nestjs.test.ts explains.
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

function appModule(
  backend: InMemoryBackend,
  seen: { decisions: DecisionEvent[]; throttled: ThrottledEvent[] },
) {
  const strategy = new SlidingWindowLogStrategy();
  const everyone = new HTTPThrottle({ uid: "n-everyone", rate: "100/m", strategy });
  const info = new HTTPThrottle({ uid: "n-info", rate: "2/m", strategy });
  const manual = new HTTPThrottle({ uid: "n-manual", rate: "5/m", strategy });
  const messages = new WebSocketThrottle({ uid: "n-messages", rate: "5/m", strategy });

  class InfoController {
    info(decision: RateLimitDecision | undefined, request: { traffik?: RateLimitDecision }) {
      return {
        remaining: decision?.remaining,
        uid: decision?.policy.uid,
        decisions: decision?.decisions.map((d) => d.uid),
        same: decision === request.traffik,
      };
    }
    async manual(request: object) {
      await manual.hit(request);
      return { ok: true };
    }
  }
  decorate(InfoController, undefined, Controller("info"));
  decorate(InfoController, "info", Get(), Throttled(info));
  decorate(InfoController, "manual", Get("manual"));
  // Parameter decorators, as `@RateLimitDecision() decision, @Req() request` apply them.
  RateLimitDecision()(InfoController.prototype, "info", 0);
  Req()(InfoController.prototype, "info", 1);
  Req()(InfoController.prototype, "manual", 0);

  class ChatGateway {
    say(_client: unknown, data: unknown) {
      return { event: "said", data };
    }
  }
  decorate(ChatGateway, undefined, WebSocketGateway({ path: "/chat" }));
  decorate(ChatGateway, "say", SubscribeMessage("say"), Throttled(messages));

  class AppModule {}
  decorate(
    AppModule,
    undefined,
    Module({
      imports: [
        TraffikModule.forRoot({
          backend,
          throttles: [everyone],
          statusCode: 503,
          message: async (request, decision) => ({
            limited: decision.policy.uid,
            remaining: decision.remaining,
            sawRequest: typeof request === "object",
          }),
          onDecision: (event) => seen.decisions.push(event),
          onThrottled: (event) => seen.throttled.push(event),
        }),
      ],
      controllers: [InfoController],
      providers: [ChatGateway],
    }),
  );
  return AppModule;
}

for (const platform of ["express", "fastify"] as const) {
  describe(`NestJS on ${platform}: the decision, the hooks, the message`, () => {
    const backend = new InMemoryBackend({ namespace: `nest-decision-${platform}` });
    const seen = { decisions: [] as DecisionEvent[], throttled: [] as ThrottledEvent[] };
    let app: Awaited<ReturnType<typeof NestFactory.create>>;
    let url = "";
    before(async () => {
      const module = appModule(backend, seen);
      app =
        platform === "fastify"
          ? await NestFactory.create(module, new FastifyAdapter(), { logger: false })
          : await NestFactory.create(module, { logger: false });
      app.useWebSocketAdapter(new WsAdapter(app));
      await app.listen(0, "127.0.0.1");
      url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
    });
    after(() => app.close());

    it("injects the request's decision with @RateLimitDecision(), the same as request.traffik", async () => {
      const response = await fetch(`${url}/info`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        remaining: 1,
        uid: "n-info",
        decisions: ["n-everyone", "n-info"],
        same: true,
      });
    });

    it("answers a throttled request with the module's message and statusCode", async () => {
      assert.equal((await fetch(`${url}/info`)).status, 200);
      const throttled = await fetch(`${url}/info`);
      assert.equal(throttled.status, 503);
      assert.ok(Number(throttled.headers.get("retry-after")) >= 1, "Retry-After unchanged");
      assert.deepEqual(await throttled.json(), {
        limited: "n-info",
        remaining: 0,
        sawRequest: true,
      });
    });

    it("calls the module's hooks for the guard's decisions, a handler's and a gateway's", async () => {
      assert.equal((await fetch(`${url}/info/manual`)).status, 200);
      const client = new WebSocket(`${url.replace("http", "ws")}/chat`);
      await once(client, "open");
      client.send(JSON.stringify({ event: "say", data: 1 }));
      await once(client, "message");
      client.close();
      await once(client, "close");
      const uids = seen.decisions.map((event) => [event.uid, event.allowed]);
      assert.deepEqual(uids, [
        ["n-everyone", true],
        ["n-info", true],
        ["n-everyone", true],
        ["n-info", true],
        ["n-everyone", true],
        ["n-info", false],
        ["n-everyone", true],
        ["n-manual", true],
        // The module's throttles apply to gateway messages too.
        ["n-everyone", true],
        ["n-messages", true],
      ]);
      assert.deepEqual(
        seen.throttled.map((event) => event.uid),
        ["n-info"],
      );
    });
  });
}

describe("NestJS: the module's new options are checked", () => {
  it("rejects a bad statusCode, message or hook with a ConfigurationError", () => {
    for (const options of [
      { statusCode: 200 },
      { statusCode: 429.5 },
      { message: 42 },
      { onThrottled: "log" },
    ]) {
      assert.throws(() => new TraffikGuard(options as never), ConfigurationError);
    }
  });
});
