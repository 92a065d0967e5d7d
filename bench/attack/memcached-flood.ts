/**
 * Attack: four OS processes flood one client's key on one real memcached (see
 * `_one-key-flood.ts`). Issue 14 item 1 measured 65 298 admitted against a limit of 100 this
 * way (sliding log; GCRA 58 009): decisions timed out waiting behind their own process's
 * per-key queue and `onError: "allow"` admitted them.
 */
import { startMemcached } from "../../test/support/servers.js";
import { floodOneKey } from "./_one-key-flood.js";

process.exitCode = (await floodOneKey("memcached", startMemcached)) ? 0 : 1;
