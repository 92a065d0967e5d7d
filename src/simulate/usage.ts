import { STRATEGY_NAMES } from "./catalog.js";

/** What `traffik --help` and `traffik simulate --help` print. */
export const USAGE = `Usage: traffik simulate [options]

Replays one client's requests through a Traffik strategy on a simulated clock, and draws what
it admitted, delayed and rejected, and the wait it told each rejected request.

Strategy
  --strategy NAME    ${STRATEGY_NAMES.join(", ")}
                     (default fixed-window); repeat it to draw several side by side (--html)
  --rate RATE        the limit, such as 10/s, 100/m, 5/10s (default 10/s)
  --burst N          token-bucket, token-bucket-with-debt: burstSize; gcra: burst
  --max-debt N       token-bucket-with-debt: maxDebt
  --capacity N       leaky-bucket: capacity
  --queue-size N     leaky-bucket-with-queue: queueSize
  --cost N           units each request costs (default 1)

Traffic
  --traffic PATTERN  steady: evenly spaced at --offered
                     burst: --offered's count at once (within a tenth of its window), each window
                     ramp: the rate rising evenly from 0 to --offered at the end
                     (default steady)
  --offered RATE     the traffic's rate (default twice --rate)
  --duration TIME    how long it lasts, such as 10s, 500ms, 2m (default ten windows of --rate)
  --start TIME       when the first request comes (default 0)
  --log FILE         replay recorded times instead: one time in ms per line, in order

Output
  --out FILE.svg     write the picture of one strategy
  --html FILE.html   write a page with every --strategy side by side
                     (with neither, the SVG, or the page for several, goes to standard output)
  -h, --help         print this help

Example
  npx traffik simulate --strategy gcra --rate 10/s --traffic burst --out gcra.svg
`;
