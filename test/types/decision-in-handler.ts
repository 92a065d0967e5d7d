/**
 * Type tests, checked by `tsc` (`npm run typecheck`), never run: each framework's handler sees
 * the request's decision typed, under the name `traffik`, beside the peers' `rateLimit`.
 */
import Router from "@koa/router";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import Koa from "koa";
import type { Decision } from "traffik";
import { throttled as expressThrottled, type RateLimitDecision } from "traffik/express";
import { ThrottleMiddleware as FastifyMiddleware } from "traffik/fastify";
import { throttled as honoThrottled, type TraffikVariables } from "traffik/hono";
import type { TraffikState } from "traffik/koa";
import { RateLimitDecision as InjectDecision } from "traffik/nestjs";
import { type DecidedUpgradeRequest, throttleMessages, type WsSocket } from "traffik/ws";

/** Compiles only when `A` and `B` are the same type. */
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(_proof: Equals<A, B>): void => {};

type Seen = RateLimitDecision | undefined;

// Express: `req.traffik` on Express's own Request, optional until a throttle decided.
express().get("/", (req, res) => {
  same<typeof req.traffik, Seen>(true);
  // @ts-expect-error: undefined on a route no throttle decided
  res.json(req.traffik.remaining);
  if (req.traffik) {
    same<typeof req.traffik.remaining, number>(true);
    same<typeof req.traffik.resetAt, Date>(true);
    same<typeof req.traffik.policy.strategy, string>(true);
    same<typeof req.traffik.decisions, readonly Decision[]>(true);
  }
});

// The message function sees the framework's request and the decision.
expressThrottled({
  message: (req, decision) => {
    same<typeof req.traffik, Seen>(true);
    same<typeof decision, RateLimitDecision>(true);
    return { left: decision.remaining };
  },
});

// Fastify: `request.traffik`, by module augmentation.
const fastify = Fastify();
void fastify.register(FastifyMiddleware, { onThrottled: (event) => event.retryAfterMs });
fastify.get("/", async (request) => {
  same<typeof request.traffik, Seen>(true);
  return request.traffik?.limit;
});

// Hono: `c.get("traffik")` and `c.var.traffik` on any app; `TraffikVariables` for typed ones.
new Hono().get("/", honoThrottled(), (c) => {
  const got = c.get("traffik");
  same<typeof got, Seen>(true);
  same<typeof c.var.traffik, Seen>(true);
  return c.json({ left: c.get("traffik")?.remaining });
});
new Hono<{ Variables: { user: string } & TraffikVariables }>().get("/", (c) => {
  same<typeof c.var.traffik, Seen>(true);
  same<typeof c.var.user, string>(true);
  return c.text(c.var.user);
});

// Koa: `ctx.state.traffik` once the app's state type includes TraffikState.
const koa = new Koa<TraffikState>();
koa.use(async (ctx) => {
  same<typeof ctx.state.traffik, Seen>(true);
});
new Router<TraffikState>().get("/", (ctx) => {
  same<typeof ctx.state.traffik, Seen>(true);
});

// NestJS: a parameter decorator, and the type of the same name.
const injected: ParameterDecorator = InjectDecision();
void injected;
same<InjectDecision, RateLimitDecision>(true);

// ws: the upgrade request the connection handler gets.
declare const upgraded: DecidedUpgradeRequest;
same<typeof upgraded.traffik, Seen>(true);

// ws: each admitted message's decision, for a handler that takes it.
declare const socket: WsSocket;
throttleMessages(socket, upgraded, {
  throttles: [],
  onMessage: (_data, _isBinary, decision) => {
    same<typeof decision, RateLimitDecision>(true);
  },
});
