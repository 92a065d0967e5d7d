/**
 * `npm run pictures`: writes docs/strategies/*.svg, the README's pictures of each strategy,
 * as `traffik simulate` makes them (see strategy-pictures.ts). Run it after changing a
 * strategy or the simulator, and commit the result; a test fails until then.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { strategyPictures } from "./strategy-pictures.js";

const root = join(import.meta.dirname, "..");
for (const { path, content } of strategyPictures()) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  console.log(`wrote ${path}`);
}
