/**
 * `rtr serve --metrics`: Prometheus text (version 0.0.4) of a server — the table served by type,
 * serial and session, whether data is available, the upstreams' states, the SLURM loads, the
 * routers connected by protocol version, bytes and PDUs sent, queries by kind, Cache Resets,
 * Serial Notifies and Error Reports by code — and `/clients`, one JSON object per router. It
 * watches each router's connection through the server's `observe` hook: the PDU headers that
 * cross it (RFC 8210 §5: type at byte 1, length at bytes 4–7) are counted without decoding.
 */
import type { CacheConnection, RtrCache } from "../cache/mod.ts";
import { tableCounts } from "../model/mod.ts";
import { formatEndpoint } from "../server.ts";
import type { RtrConn } from "../transport.ts";
import type { UpstreamSet } from "../upstream.ts";
import { errorName, MAX_PDU_LENGTH, PduType } from "../wire/mod.ts";
import { metricFamily } from "./metrics.ts";
import type { SlurmWatch } from "./slurm_file.ts";

/**
 * Calls `onPdu(bytes, at, length)` for every PDU in a byte stream given in any chunks: the PDU's
 * first min(length, 12) bytes are at `bytes[at…]`. Whole PDUs are read in place; only a header
 * cut by a chunk boundary is copied.
 */
class PduHeaderWalker {
  readonly #hdr = new Uint8Array(12);
  #have = 0;
  #want = 8;
  #skip = 0;
  #broken = false;
  readonly #onPdu: (bytes: Uint8Array, at: number, length: number) => void;

  constructor(onPdu: (bytes: Uint8Array, at: number, length: number) => void) {
    this.#onPdu = onPdu;
  }

  push(b: Uint8Array): void {
    let i = 0;
    const n = b.length, hdr = this.#hdr;
    while (i < n && !this.#broken) {
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, n - i);
        i += k;
        this.#skip -= k;
        continue;
      }
      if (this.#have === 0) {
        // Fast path: whole headers in this chunk.
        while (i + 8 <= n) {
          const len = ((b[i + 4] << 24) | (b[i + 5] << 16) | (b[i + 6] << 8) | b[i + 7]) >>> 0;
          if (len < 8 || len > MAX_PDU_LENGTH) {
            this.#broken = true; // not RTR any more: stop counting rather than guess
            return;
          }
          if (i + Math.min(len, 12) > n) break;
          this.#onPdu(b, i, len);
          if (i + len > n) {
            this.#skip = i + len - n;
            return;
          }
          i += len;
        }
        if (i >= n) return;
      }
      while (this.#have < this.#want && i < n) hdr[this.#have++] = b[i++];
      if (this.#have < this.#want) return;
      const len = ((hdr[4] << 24) | (hdr[5] << 16) | (hdr[6] << 8) | hdr[7]) >>> 0;
      if (len < 8 || len > MAX_PDU_LENGTH) {
        this.#broken = true;
        return;
      }
      if (this.#want === 8 && len > 8) {
        this.#want = Math.min(len, 12);
        continue;
      }
      this.#onPdu(hdr, 0, len);
      this.#skip = len - this.#have;
      this.#have = 0;
      this.#want = 8;
    }
  }
}

/** What `/clients` says about one router. */
export interface ClientInfo {
  address: string;
  connected: string;
  /** Negotiated protocol version, null before the first query is answered. */
  version: number | null;
  lastQuery: { kind: "reset" | "serial"; serial?: number; time: string } | null;
  /** Serial of the last End of Data sent to it (the serial it holds), or null. */
  serial: number | null;
  bytesSent: number;
  pdusSent: number;
  /** Bytes of responses made for it and not yet written. */
  bytesQueued: number;
}

class Router {
  readonly address: string;
  readonly connected = Date.now();
  lastQuery: ClientInfo["lastQuery"] = null;
  bytesSent = 0;
  pdusSent = 0;
  produced = 0;
  constructor(readonly conn: RtrConn, readonly responder: CacheConnection) {
    this.address = formatEndpoint(conn.remoteAddr);
  }

  info(): ClientInfo {
    return {
      address: this.address,
      connected: new Date(this.connected).toISOString(),
      version: this.responder.version ?? null,
      lastQuery: this.lastQuery,
      serial: this.responder.lastSerial ?? null,
      bytesSent: this.bytesSent,
      pdusSent: this.pdusSent,
      bytesQueued: Math.max(0, this.produced - this.bytesSent),
    };
  }
}

/** Counters and gauges of a server, and the routers it serves. */
export class ServeMetrics {
  readonly #cache: RtrCache;
  #upstreams: UpstreamSet | undefined;
  #slurm: SlurmWatch | undefined;
  readonly #routers = new Set<Router>();
  connections = 0;
  bytes = 0;
  pdus = 0;
  queries = { reset: 0, serial: 0 };
  cacheResets = 0;
  notifies = 0;
  readonly errorsSent = new Map<number, number>();
  readonly errorsReceived = new Map<number, number>();

  constructor(cache: RtrCache) {
    this.#cache = cache;
  }

  /** Report on these upstreams too. */
  set upstreams(u: UpstreamSet | undefined) {
    this.#upstreams = u;
  }

  /** Report on this SLURM file too. */
  set slurm(w: SlurmWatch | undefined) {
    this.#slurm = w;
  }

  /** The server's `observe` hook: counts what crosses each router's connection. */
  readonly observe = (conn: RtrConn, responder: CacheConnection): RtrConn => {
    const r = new Router(conn, responder);
    this.#routers.add(r);
    this.connections++;
    const receive = responder.receive.bind(responder);
    responder.receive = (chunk) => {
      const out = receive(chunk);
      for (const s of out.send) r.produced += s.size;
      return out;
    };
    const notify = responder.notify.bind(responder);
    responder.notify = () => {
      const b = notify();
      if (b) r.produced += b.length;
      return b;
    };
    const u16 = (h: Uint8Array, at: number) => (h[at] << 8) | h[at + 1];
    const sent = new PduHeaderWalker((h, at) => {
      r.pdusSent++;
      this.pdus++;
      const type = h[at + 1];
      if (type === PduType.CacheReset) this.cacheResets++;
      else if (type === PduType.SerialNotify) this.notifies++;
      else if (type === PduType.ErrorReport) bump(this.errorsSent, u16(h, at + 2));
    });
    const received = new PduHeaderWalker((h, at, len) => {
      const type = h[at + 1];
      const time = new Date().toISOString();
      if (type === PduType.ResetQuery) {
        this.queries.reset++;
        r.lastQuery = { kind: "reset", time };
      } else if (type === PduType.SerialQuery && len >= 12) {
        this.queries.serial++;
        const x = at + 8;
        const serial = ((h[x] << 24) | (h[x + 1] << 16) | (h[x + 2] << 8) | h[x + 3]) >>> 0;
        r.lastQuery = { kind: "serial", serial, time };
      } else if (type === PduType.ErrorReport) bump(this.errorsReceived, u16(h, at + 2));
    });
    let gone = false;
    const leave = () => {
      if (!gone) this.#routers.delete(r);
      gone = true;
    };
    return {
      localAddr: conn.localAddr,
      remoteAddr: conn.remoteAddr,
      read: async (buf) => {
        const n = await conn.read(buf);
        if (n !== null) received.push(buf.subarray(0, n));
        return n;
      },
      write: async (bytes) => {
        const n = await conn.write(bytes);
        sent.push(bytes.subarray(0, n));
        r.bytesSent += n;
        this.bytes += n;
        return n;
      },
      closeWrite: () => conn.closeWrite(),
      close: () => {
        leave();
        conn.close();
      },
    };
  };

  /** `/clients`: every connected router. */
  clients(): ClientInfo[] {
    return [...this.#routers].map((r) => r.info());
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    const g = (
      name: string,
      help: string,
      type: "gauge" | "counter",
      rows: [string, number | null][],
    ) => metricFamily(out, name, help, type, rows);
    const cache = this.#cache;
    const t = cache.hasData ? cache.table : undefined;
    const c = t ? tableCounts(t) : { vrpsIpv4: 0, vrpsIpv6: 0, routerKeys: 0, aspas: 0 };
    g("rtr_serve_records", "Records served, by type.", "gauge", [
      ['{type="vrp_ipv4"}', c.vrpsIpv4],
      ['{type="vrp_ipv6"}', c.vrpsIpv6],
      ['{type="router_key"}', c.routerKeys],
      ['{type="aspa"}', c.aspas],
    ]);
    g("rtr_serve_serial", "Serial of the table served.", "gauge", [["", cache.serial ?? null]]);
    g(
      "rtr_serve_session_id",
      "Session id served to routers of each protocol version.",
      "gauge",
      Array.from(
        { length: cache.maxVersion + 1 },
        (_, v): [string, number] => [`{version="${v}"}`, cache.sessionIdFor(v)],
      ),
    );
    g(
      "rtr_serve_data_available",
      "1 while data is served, 0 before the first table or after every source expired.",
      "gauge",
      [["", cache.hasData ? 1 : 0]],
    );
    const byVersion = new Map<string, number>([["0", 0], ["1", 0], ["2", 0], ["none", 0]]);
    for (const r of this.#routers) {
      const v = r.responder.version === undefined ? "none" : String(r.responder.version);
      byVersion.set(v, (byVersion.get(v) ?? 0) + 1);
    }
    g(
      "rtr_serve_routers",
      "Routers connected, by negotiated protocol version (none: no query answered yet).",
      "gauge",
      [...byVersion].map(([v, n]) => [`{version="${v}"}`, n]),
    );
    g("rtr_serve_connections_total", "Router connections accepted.", "counter", [[
      "",
      this.connections,
    ]]);
    g("rtr_serve_sent_bytes_total", "Bytes sent to routers.", "counter", [["", this.bytes]]);
    g("rtr_serve_sent_pdus_total", "PDUs sent to routers.", "counter", [["", this.pdus]]);
    g("rtr_serve_queries_total", "Queries received, by kind.", "counter", [
      ['{kind="reset"}', this.queries.reset],
      ['{kind="serial"}', this.queries.serial],
    ]);
    g("rtr_serve_cache_resets_total", "Cache Reset PDUs sent.", "counter", [[
      "",
      this.cacheResets,
    ]]);
    g("rtr_serve_serial_notifies_total", "Serial Notify PDUs sent.", "counter", [[
      "",
      this.notifies,
    ]]);
    const codes = (m: Map<number, number>): [string, number][] =>
      [...m].sort((a, b) => a[0] - b[0]).map((
        [code, n],
      ) => [`{code="${code}",name="${errorName(code)}"}`, n]);
    g("rtr_serve_errors_sent_total", "Error Reports sent to routers, by code.", "counter", [
      ...codes(this.errorsSent),
    ]);
    g(
      "rtr_serve_errors_received_total",
      "Error Reports received from routers, by code.",
      "counter",
      [...codes(this.errorsReceived)],
    );
    const ups = this.#upstreams?.status ?? [];
    if (ups.length > 0) {
      const l = (name: string) => `{upstream="${name.replace(/["\\]/g, "\\$&")}"}`;
      g("rtr_serve_upstream_up", "1 while the upstream is connected and synced.", "gauge", [
        ...ups.map((u): [string, number] => [l(u.name), u.state === "up" ? 1 : 0]),
      ]);
      g(
        "rtr_serve_upstream_state",
        "The upstream's state (connecting, syncing, up, stale, down, expired): 1 for the current one.",
        "gauge",
        ups.map((u): [string, number] => [
          `{upstream="${u.name.replace(/["\\]/g, "\\$&")}",state="${u.state}"}`,
          1,
        ]),
      );
      g("rtr_serve_upstream_selected", "1 while the upstream's data is served.", "gauge", [
        ...ups.map((u): [string, number] => [l(u.name), u.selected ? 1 : 0]),
      ]);
      g("rtr_serve_upstream_serial", "Serial of the upstream's table.", "gauge", [
        ...ups.map((u): [string, number | null] => [l(u.name), u.serial]),
      ]);
      g("rtr_serve_upstream_session_id", "Session id of the upstream.", "gauge", [
        ...ups.map((u): [string, number | null] => [l(u.name), u.sessionId]),
      ]);
      g(
        "rtr_serve_upstream_last_success_timestamp_seconds",
        "Unix time of the upstream's last successful sync.",
        "gauge",
        [
          ...ups.map((u): [string, number | null] => [
            l(u.name),
            u.lastSuccess === null ? null : u.lastSuccess / 1000,
          ]),
        ],
      );
      g("rtr_serve_upstream_syncs_total", "Successful syncs with the upstream.", "counter", [
        ...ups.map((u): [string, number] => [l(u.name), u.syncs]),
      ]);
      g(
        "rtr_serve_upstream_failures_total",
        "Connections to the upstream lost or failed.",
        "counter",
        [...ups.map((u): [string, number] => [l(u.name), u.failures])],
      );
      g(
        "rtr_serve_upstream_expiries_total",
        "Times the upstream's data expired.",
        "counter",
        [...ups.map((u): [string, number] => [l(u.name), u.expiries])],
      );
    }
    const s = this.#slurm;
    if (s) {
      g("rtr_serve_slurm_in_force", "1 while a SLURM file is applied.", "gauge", [[
        "",
        s.current ? 1 : 0,
      ]]);
      g("rtr_serve_slurm_loads_total", "SLURM files loaded.", "counter", [["", s.loads]]);
      g("rtr_serve_slurm_refusals_total", "SLURM files refused.", "counter", [[
        "",
        s.refusals,
      ]]);
    }
    return out.join("\n") + "\n";
  }
}

function bump(m: Map<number, number>, code: number): void {
  m.set(code, (m.get(code) ?? 0) + 1);
}
