#!/usr/bin/env node
/**
 * The `traffik` command (`npx traffik simulate ...`): runs {@link runCommand} and does its
 * input and output. Exit codes: 0 done, 2 a command line that cannot run (the message says
 * why), 1 anything else, such as a file that cannot be written.
 *
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigurationError } from "../errors.js";
import { runCommand } from "./command.js";

try {
  const result = runCommand(process.argv.slice(2), (path) => readFileSync(path, "utf8"));
  for (const { path, content } of result.files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    process.stderr.write(`wrote ${path}\n`);
  }
  for (const note of result.notes) process.stderr.write(`${note}\n`);
  process.stdout.write(result.stdout);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`traffik: ${message}\n`);
  process.exitCode = error instanceof ConfigurationError ? 2 : 1;
}
