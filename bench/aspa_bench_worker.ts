/**
 * A worker thread of `bench/aspa_bench.ts`: the same writer as `validate --aspa`'s workers over
 * the bench's routes, a range at a time, the rendered bytes handed back (transferred).
 */
import { AspaWriter } from "../lib/cli/aspa_writer.ts";
import { AspaIndex, RovIndex } from "../lib/rov/mod.ts";
import { VrpSet } from "../lib/model/vrp_set.ts";
import { RouteFeeder } from "./aspa_routes.ts";

const scope = globalThis as unknown as {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(m: unknown, transfer?: Transferable[]): void;
};
let w: AspaWriter | null = null;
let feeder: RouteFeeder | null = null;
scope.onmessage = (ev) => {
  const m = ev.data;
  if (m.kind === "init") {
    w = new AspaWriter(
      new RovIndex(new VrpSet(m.vrps)),
      new AspaIndex(m.aspa),
      { format: m.format, role: "customer", neighbourAs: -1, header: false },
      { write: (b) => Promise.resolve(b.length) },
    );
    feeder = new RouteFeeder(m.routes);
    scope.postMessage({ kind: "ready" });
  } else if (m.kind === "range" && w && feeder) {
    feeder.feed(w, m.from, m.to);
    const bytes = w.take();
    scope.postMessage({ kind: "result", bytes }, [bytes.buffer as ArrayBuffer]);
  }
};
