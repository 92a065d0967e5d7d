import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { CHANNELS } from "../../src/index.js";

/** What one channel published while subscribed. */
export interface Recording<E> {
  readonly events: E[];
  stop(): void;
}

/** Subscribes to `name` (a `CHANNELS` value) and keeps what it publishes until `stop()`. */
export function record<E>(name: (typeof CHANNELS)[keyof typeof CHANNELS]): Recording<E> {
  const events: E[] = [];
  const listener = (event: unknown) => events.push(event as E);
  subscribe(name, listener);
  return { events, stop: () => unsubscribe(name, listener) };
}

/** A logger that keeps its lines. */
export function memoryLogger(): {
  lines: { level: string; fields: Record<string, unknown>; message: string }[];
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
} {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  return {
    lines,
    warn: (fields, message) => lines.push({ level: "warn", fields, message }),
    error: (fields, message) => lines.push({ level: "error", fields, message }),
  };
}
