/**
 * Prometheus text exposition (version 0.0.4) of a follower's state for `rtr follow --metrics`:
 * serial, session, version, records by type, last success and duration, bytes and PDUs
 * received, resets, reconnects, errors by code, connected state.
 */
import { errorName } from "../wire/mod.ts";

/** One metric family in Prometheus text: HELP and TYPE lines, then a line per row with a value. */
export function metricFamily(
  out: string[],
  name: string,
  help: string,
  type: "gauge" | "counter",
  rows: [string, number | null][],
): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, v] of rows) if (v !== null) out.push(`${name}${labels} ${v}`);
}

/** Counters and gauges of one follower. */
export class FollowMetrics {
  serial: number | null = null;
  sessionId: number | null = null;
  version: number | null = null;
  records = { vrp_ipv4: 0, vrp_ipv6: 0, router_key: 0, aspa: 0 };
  lastSuccess: number | null = null;
  lastDurationMs: number | null = null;
  bytes = 0;
  pdus = 0;
  syncs = 0;
  resets = 0;
  cacheResets = 0;
  reconnects = 0;
  expiries = 0;
  errors = new Map<number, number>();
  connected = false;

  /** Render the exposition text. */
  render(): string {
    const out: string[] = [];
    const g = (
      name: string,
      help: string,
      type: "gauge" | "counter",
      rows: [string, number | null][],
    ) => metricFamily(out, name, help, type, rows);
    g("rtr_serial", "Serial of the table held.", "gauge", [["", this.serial]]);
    g("rtr_session_id", "Session id of the cache.", "gauge", [["", this.sessionId]]);
    g("rtr_protocol_version", "Negotiated RTR protocol version.", "gauge", [["", this.version]]);
    g(
      "rtr_records",
      "Records held, by type.",
      "gauge",
      Object.entries(this.records).map(([k, v]) => [`{type="${k}"}`, v]),
    );
    g("rtr_last_success_timestamp_seconds", "Unix time of the last successful sync.", "gauge", [[
      "",
      this.lastSuccess === null ? null : this.lastSuccess / 1000,
    ]]);
    g("rtr_last_sync_duration_seconds", "Duration of the last successful sync.", "gauge", [[
      "",
      this.lastDurationMs === null ? null : this.lastDurationMs / 1000,
    ]]);
    g("rtr_received_bytes_total", "Bytes received from the cache.", "counter", [["", this.bytes]]);
    g("rtr_received_pdus_total", "PDUs received from the cache.", "counter", [["", this.pdus]]);
    g("rtr_syncs_total", "Successful syncs (End of Data).", "counter", [["", this.syncs]]);
    g("rtr_resets_total", "Full-table syncs (answers to a Reset Query).", "counter", [[
      "",
      this.resets,
    ]]);
    g("rtr_cache_resets_total", "Cache Reset PDUs received.", "counter", [["", this.cacheResets]]);
    g("rtr_reconnects_total", "Connections lost or failed.", "counter", [["", this.reconnects]]);
    g("rtr_expiries_total", "Tables flushed because Expire passed.", "counter", [[
      "",
      this.expiries,
    ]]);
    g(
      "rtr_errors_total",
      "Errors by RTR error code.",
      "counter",
      [...this.errors].map(([c, n]) => [`{code="${c}",name="${errorName(c)}"}`, n]),
    );
    g("rtr_connected", "1 while connected to the cache.", "gauge", [["", this.connected ? 1 : 0]]);
    return out.join("\n") + "\n";
  }
}

/**
 * Serve `/metrics` (and any extra `routes`, by path) on ADDR:PORT until `signal` aborts;
 * resolves with the bound port.
 */
export function serveMetrics(
  hostname: string,
  port: number,
  metrics: { render(): string },
  signal: AbortSignal,
  routes: Record<string, () => Response> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    try {
      Deno.serve({
        hostname,
        port,
        signal,
        onListen: (addr) => resolve((addr as Deno.NetAddr).port),
        onError: () => new Response("internal error\n", { status: 500 }),
      }, (req) => {
        const url = new URL(req.url);
        const route = Object.hasOwn(routes, url.pathname) ? routes[url.pathname] : undefined;
        if (route) return route();
        if (url.pathname !== "/metrics") return new Response("not found\n", { status: 404 });
        return new Response(metrics.render(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      });
    } catch (e) {
      reject(e);
    }
  });
}
