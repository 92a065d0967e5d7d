import { defineConfig } from "tsup";

// One entry per public subpath; keep in step with "exports" in package.json
// (test/package/exports.test.ts fails when they drift apart).
export default defineConfig({
  entry: {
    index: "src/index.ts",
    errors: "src/errors.ts",
    backend: "src/backend.ts",
    "strategies/index": "src/strategies/index.ts",
    "backends/inmemory/index": "src/backends/inmemory/index.ts",
    "backends/redis/index": "src/backends/redis/index.ts",
    "backends/memcached/index": "src/backends/memcached/index.ts",
    "backends/sqlite/index": "src/backends/sqlite/index.ts",
    "backends/postgres/index": "src/backends/postgres/index.ts",
    "express/index": "src/integrations/express/index.ts",
    "fastify/index": "src/integrations/fastify/index.ts",
    "hono/index": "src/integrations/hono/index.ts",
    "ws/index": "src/integrations/ws/index.ts",
    "nestjs/index": "src/integrations/nestjs/index.ts",
    "koa/index": "src/integrations/koa/index.ts",
    "socket.io/index": "src/integrations/socket.io/index.ts",
    "otel/index": "src/otel/index.ts",
    // The `traffik` command (package.json "bin"), not a subpath.
    cli: "src/simulate/cli.ts",
  },
  format: ["esm", "cjs"],
  // `@internal` members and helpers stay out of the published types (test/package checks).
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  target: "node20",
  splitting: true,
  // No source maps: the output is unminified and reads like the source, and maps were over
  // half of the unpacked package (651 of 1 200 kB).
  sourcemap: false,
});
