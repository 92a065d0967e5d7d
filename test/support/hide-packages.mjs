// Loaded with `--import`: the packages named in TRAFFIK_HIDE (comma-separated) cannot be
// resolved, as if they were not installed.
import { register } from "node:module";

register("./hide-packages-hooks.mjs", import.meta.url);
