/**
 * `npm run test:suite` runs this first (`pretest:suite`): it builds and packs the package for
 * the sources as they stand (see tarball.ts), outside any test file's time limit, since on a
 * loaded machine the build alone (its type declarations, mostly) can take over two minutes.
 * The package tests then install the cached tarball; run alone, they build it themselves.
 */

import { root } from "./packed.js";
import { packedTarball } from "./tarball.js";

console.log(`packed: ${packedTarball(root)}`);
