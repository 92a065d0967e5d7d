/**
 * The README's pictures are made by the tool, not drawn by hand: the committed
 * docs/strategies/*.svg are exactly what `traffik simulate` makes now (`npm run pictures`
 * writes them), one per built-in strategy and nothing else.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pictureCommand, strategyPictures } from "../../scripts/strategy-pictures.js";
import { STRATEGY_NAMES } from "../../src/simulate/catalog.js";
import { xmlProblem } from "./well-formed.js";

const root = join(import.meta.dirname, "..", "..");

describe("the strategy pictures in docs/strategies", () => {
  const pictures = strategyPictures();

  it("are one per built-in strategy, and nothing else", () => {
    assert.deepEqual(
      readdirSync(join(root, "docs", "strategies")).sort(),
      STRATEGY_NAMES.map((name) => `${name}.svg`).sort(),
    );
    assert.deepEqual(
      pictures.map(({ path }) => path),
      STRATEGY_NAMES.map((name) => `docs/strategies/${name}.svg`),
    );
  });

  for (const { path, content } of pictures) {
    it(`${path} is what the tool makes now (else run npm run pictures)`, () => {
      const committed = readFileSync(join(root, path), "utf8");
      assert.ok(committed === content, `${path} is stale: run \`npm run pictures\` and commit it`);
      assert.equal(xmlProblem(committed), undefined);
    });
  }

  it("are made by the command the README quotes", () => {
    assert.deepEqual(
      pictureCommand("gcra").join(" "),
      [
        "simulate --strategy gcra --rate 10/s --traffic burst --offered 25/2s --start 900ms",
        "--duration 6s --out docs/strategies/gcra.svg",
      ].join(" "),
    );
  });
});
