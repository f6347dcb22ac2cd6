/**
 * The generated routes of `bench/aspa_bench.ts` as `validate --aspa` sees them after parsing, so
 * that the bench's main thread and its worker threads (`aspa_bench_worker.ts`) feed the same
 * writer the same routes.
 */
import type { AspaWriter } from "../lib/cli/aspa_writer.ts";
import { DOWNSTREAM, type PathRoute } from "../lib/rov/mod.ts";

/** Paths in BGP order (neighbour first), their procedure, and each route's IPv4 prefix. */
export interface RouteArrays {
  pathAsns: Uint32Array;
  /** Path n is pathAsns[pathStart[n] … pathStart[n + 1]). */
  pathStart: Int32Array;
  pathProc: Uint8Array;
  routeAddr: Uint32Array;
  routeLen: Uint8Array;
}

/** Feeds routes to a writer from one reused PathRoute (the parser's work is not timed). */
export class RouteFeeder {
  readonly #a: RouteArrays;
  readonly #segs: number[] = [];
  readonly #route: PathRoute;

  constructor(a: RouteArrays) {
    this.#a = a;
    this.#route = {
      route: { family: 4, addr: [0], length: 0, asn: 0, addrText: "" },
      originKnown: true,
      path: this.#segs,
      segments: this.#segs,
      hasSet: false,
      neighbourAs: -1,
      role: null,
    };
  }

  /** Answer routes [from, to) with `w`; routes from providers are verified downstream. */
  feed(w: AspaWriter, from: number, to: number): void {
    const a = this.#a, segs = this.#segs, route = this.#route;
    for (let n = from; n < to; n++) {
      const s = a.pathStart[n], e = a.pathStart[n + 1];
      segs.length = 0;
      for (let k = s; k < e; k++) segs.push(a.pathAsns[k]);
      (route.route.addr as number[])[0] = a.routeAddr[n];
      route.route.length = a.routeLen[n];
      route.route.asn = a.pathAsns[e - 1];
      route.neighbourAs = a.pathAsns[s];
      route.role = a.pathProc[n] === DOWNSTREAM ? "provider" : "customer";
      w.route(route);
    }
  }
}
