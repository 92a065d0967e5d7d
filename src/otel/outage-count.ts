import type { UpDownCounter } from "@opentelemetry/api";
import type { BackendStateEvent } from "../events/types.js";

/**
 * Keeps `traffik.backend.active_outages` true to the nodes out now: one up per outage begun, one
 * down per outage ended, and the rest down when its backend closes. An outage that began
 * before instrumenting is not counted, so its end does not take the count below zero. @internal
 */
export class OutageCount {
  /** The outages open, by backend namespace: their nodes (`""` for the whole backend). */
  private readonly open = new Map<string, Set<string>>();

  constructor(private readonly counter: UpDownCounter) {}

  update(event: BackendStateEvent): void {
    const { backend, state } = event;
    const node = event.node ?? "";
    const nodes = this.open.get(backend);
    if (state === "outage-began") {
      if (nodes?.has(node)) return;
      if (nodes) nodes.add(node);
      else this.open.set(backend, new Set([node]));
      this.counter.add(1, { "traffik.backend": backend });
    } else if (state === "outage-ended") {
      if (!nodes?.delete(node)) return;
      if (nodes.size === 0) this.open.delete(backend);
      this.counter.add(-1, { "traffik.backend": backend });
    } else if (state === "closed" && nodes) {
      this.open.delete(backend);
      this.counter.add(-nodes.size, { "traffik.backend": backend });
    }
  }
}
