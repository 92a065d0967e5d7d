/**
 * `npm run attack`: runs every attack script in this folder, one after another, each in its own
 * process, and prints what each measured (admitted against the limit, heap growth, event-loop
 * delay, time to recover). Attacks are not tests: they print figures and exit non-zero only when
 * a limit was passed or a stated bound was broken. `ATTACK_ONLY=name,name` runs a subset.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const folder = dirname(fileURLToPath(import.meta.url));
const only = process.env.ATTACK_ONLY?.split(",").filter(Boolean);
const scripts = readdirSync(folder)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.startsWith("_"))
  .filter((file) => only === undefined || only.includes(basename(file, ".ts")))
  .sort();

const failed: string[] = [];
for (const script of scripts) {
  console.log(`\n=== attack: ${basename(script, ".ts")} ===`);
  const { status } = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(folder, script)],
    {
      stdio: "inherit",
      timeout: 10 * 60_000,
    },
  );
  if (status !== 0) failed.push(basename(script, ".ts"));
}
console.log(
  `\n${scripts.length - failed.length} attacks held, ${failed.length} broke through${failed.length ? `: ${failed.join(", ")}` : ""}`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
