/**
 * `rtr serve`'s payload sources beside the table file, in one place: the flags and help of
 * `--upstream` (followed caches, lib/upstream.ts), `--combine`, `--slurm` (RFC 8416 local
 * exceptions, watched) and `--metrics` (Prometheus and /clients), and `ServeSources`, which
 * unites the table file and the upstreams, applies the SLURM and publishes to the server
 * (lib/serve_payload.ts), logging each change on stderr.
 */
import { describeError, UsageError } from "../errors.ts";
import type { RtrCache } from "../cache/mod.ts";
import { type PayloadResult, type PublishTarget, ServePayload } from "../serve_payload.ts";
import type { RtrServer } from "../server.ts";
import { describeTarget, errText } from "../transport.ts";
import { type CombineMode, UpstreamSet, type UpstreamSpec } from "../upstream.ts";
import { int, type Parsed, seconds, splitHostPort, str } from "./args.ts";
import { serveMetrics } from "./metrics.ts";
import type { ServeMetrics } from "./serve_metrics.ts";
import { SlurmWatch } from "./slurm_file.ts";

/** Help lines of the flags below. */
export const SOURCES_HELP = `  --upstream HOST[:PORT]
                        follow this cache (repeat for several; tls://HOST[:PORT] for TLS,
                        default port 8282, 324 with tls://)
  --combine any|merge   with several upstreams: any (default) serves the first healthy one
                        (connected and synced) in the order given and fails over when it
                        goes away (while none is healthy, the first whose data has not
                        expired); merge serves the union of all whose data has not expired
  --upstream-protocol N highest version proposed to upstreams: 0, 1 or 2 (default 2)
  --upstream-timeout S  an upstream silent this long while it answers is dropped (default 30)
  --upstream-retry S    seconds between reconnects (default: the upstream's Retry)
  --upstream-ca FILE    PEM CA certificate(s) to trust for tls:// upstreams
  --upstream-cert FILE  PEM client certificate for tls:// upstreams (with --upstream-key)
  --upstream-key FILE   PEM private key of --upstream-cert
  --slurm FILE          apply the local exceptions in FILE (SLURM, RFC 8416; version 2 adds
                        ASPA) to what is served; watched and re-read on SIGHUP; a file that
                        is not valid SLURM is refused and the last good one stays in force
                        (at start: exit 1)
  --metrics ADDR:PORT   serve Prometheus metrics on http://ADDR:PORT/metrics and the
                        connected routers as JSON on /clients
`;

/** Flags of upstreams, SLURM and metrics. */
export const SOURCES_OPTIONS = {
  upstream: { type: "string", multiple: true },
  combine: { type: "string" },
  "upstream-protocol": { type: "string" },
  "upstream-timeout": { type: "string" },
  "upstream-retry": { type: "string" },
  "upstream-ca": { type: "string" },
  "upstream-cert": { type: "string" },
  "upstream-key": { type: "string" },
  slurm: { type: "string" },
  metrics: { type: "string" },
} as const;

/** The parsed flags of upstreams, SLURM and metrics. */
export interface SourceFlags {
  upstreams: UpstreamSpec[];
  combine: CombineMode;
  slurmFile?: string;
  /** `--metrics` as given, and where to listen. */
  metricsFlag?: string;
  metricsAt?: { host: string; port: number };
}

/** Parse and check the flags (UsageError on a bad one). */
export function parseSourceFlags(p: Parsed): SourceFlags {
  const { specs, combine } = upstreamFlags(p);
  const metricsFlag = str(p, "metrics");
  return {
    upstreams: specs,
    combine,
    slurmFile: str(p, "slurm"),
    metricsFlag,
    metricsAt: metricsFlag !== undefined ? splitHostPort(metricsFlag, 9848, 0) : undefined,
  };
}

/** The upstream caches of `--upstream` (none when not given), with their connect options. */
function upstreamFlags(p: Parsed): { specs: UpstreamSpec[]; combine: CombineMode } {
  const list = (p.values.upstream as string[] | undefined) ?? [];
  const combine = str(p, "combine") ?? "any";
  if (combine !== "any" && combine !== "merge") {
    throw new UsageError(`--combine must be any or merge, got ${JSON.stringify(combine)}`);
  }
  const version = int(p, "upstream-protocol", 2, 0, 2);
  const timeoutSec = seconds(p, "upstream-timeout", 30);
  const retrySec = str(p, "upstream-retry") !== undefined
    ? seconds(p, "upstream-retry", 0)
    : undefined;
  const caFile = str(p, "upstream-ca");
  const certFile = str(p, "upstream-cert"), keyFile = str(p, "upstream-key");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--upstream-cert and --upstream-key go together");
  }
  const specs: UpstreamSpec[] = [];
  for (const spec of list) {
    const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(spec);
    const scheme = m ? m[1].toLowerCase() : "tcp";
    if (scheme !== "tcp" && scheme !== "tls") {
      throw new UsageError(
        `--upstream ${
          JSON.stringify(spec)
        }: unknown scheme ${scheme}://, expected HOST[:PORT] or tls://HOST[:PORT]`,
      );
    }
    const tls = scheme === "tls";
    const t = splitHostPort((m ? m[2] : spec).replace(/\/$/, ""), tls ? 324 : 8282);
    const s: UpstreamSpec = { host: t.host, port: t.port, version, timeoutSec, retrySec, tls };
    if (tls) Object.assign(s, { caFile, certFile, keyFile });
    const name = `${tls ? "tls://" : ""}${describeTarget(s)}`;
    if (specs.some((o) => o.name === name)) {
      throw new UsageError(`--upstream ${name} is given twice`);
    }
    specs.push({ ...s, name });
  }
  const tlsUsed = specs.some((s) => s.tls);
  if (!tlsUsed && (caFile || certFile || keyFile)) {
    throw new UsageError(
      "--upstream-ca, --upstream-cert and --upstream-key need a tls:// upstream",
    );
  }
  if (specs.length === 0) {
    for (const f of ["combine", "upstream-protocol", "upstream-timeout", "upstream-retry"]) {
      if (str(p, f) !== undefined) throw new UsageError(`--${f} needs --upstream`);
    }
  }
  return { specs, combine };
}

/** One log line for a publish after an upstream or SLURM change (none when nothing changed). */
function publishLine(r: PayloadResult, why: string): string | null {
  if (r.kind === "withdrawn") {
    return r.serial === undefined
      ? null
      : `withdrew serial ${r.serial} (${why}): Reset Queries get "No Data Available", Serial Queries a Cache Reset`;
  }
  if (r.previous === undefined) return `serving serial ${r.serial} (${why})`;
  if (!r.changed) return null;
  return `serial ${r.previous} → ${r.serial} (${why}): ${r.announced} announced, ${r.withdrawn} withdrawn`;
}

/** The server's sources: the table file's publish target, the upstreams, the SLURM, metrics. */
export class ServeSources {
  readonly #payload: ServePayload;
  readonly #cache: RtrCache;
  readonly #log: (line: string) => void;
  readonly #ups: UpstreamSet | undefined;
  readonly #slurm: SlurmWatch | undefined;
  readonly #metricsAbort = new AbortController();
  /** Where the table file publishes: its table joins the upstreams' (SLURM applied). */
  readonly fileTarget: PublishTarget;

  private constructor(
    server: RtrServer,
    flags: SourceFlags,
    log: (line: string) => void,
    metrics: ServeMetrics | undefined,
  ) {
    this.#payload = new ServePayload(server);
    this.#cache = server.cache;
    this.#log = log;
    this.fileTarget = {
      cache: server.cache,
      publish: (t) => {
        const r = this.#payload.set("file", t);
        if (r.kind !== "published") throw new Error("a table file was withdrawn");
        return r;
      },
    };
    if (flags.slurmFile !== undefined) {
      this.#slurm = new SlurmWatch(flags.slurmFile, {
        log,
        apply: (s, why) => this.#published(this.#payload.setSlurm(s), `SLURM ${why}`),
      });
    }
    if (flags.upstreams.length > 0) {
      this.#ups = new UpstreamSet(flags.upstreams, {
        combine: flags.combine,
        log,
        onChange: (t, why) => this.#guarded(() => this.#payload.set("upstream", t), why),
      });
    }
    if (metrics) {
      metrics.slurm = this.#slurm;
      metrics.upstreams = this.#ups;
    }
  }

  /**
   * Read the SLURM file and open the metrics listener; null (after a log line) when either
   * fails, which is exit 1. Nothing is followed until `start`.
   */
  static async open(
    server: RtrServer,
    flags: SourceFlags,
    log: (line: string) => void,
    metrics?: ServeMetrics,
  ): Promise<ServeSources | null> {
    const s = new ServeSources(server, flags, log, metrics);
    if (s.#slurm && !(await s.#slurm.reload("start"))) return null;
    if (metrics && flags.metricsAt) {
      const at = flags.metricsAt;
      try {
        const port = await serveMetrics(at.host, at.port, metrics, s.#metricsAbort.signal, {
          "/clients": () =>
            new Response(JSON.stringify(metrics.clients()) + "\n", {
              headers: { "content-type": "application/json" },
            }),
        });
        log(`metrics on http://${describeTarget({ host: at.host, port })}/metrics`);
      } catch (e) {
        log(`cannot serve metrics on ${flags.metricsFlag}: ${errText(e)}`);
        await s.#slurm?.close();
        return null;
      }
    }
    return s;
  }

  /** Follow the upstreams and watch the SLURM file. */
  async start(): Promise<void> {
    this.#ups?.start();
    await this.#slurm?.watch();
  }

  /** Read the SLURM file again (SIGHUP). */
  reload(why: string): void {
    this.#slurm?.reload(why);
  }

  /** Stop following, watching and serving metrics. */
  async stop(): Promise<void> {
    await this.#ups?.stop();
    await this.#slurm?.close();
    this.#metricsAbort.abort();
  }

  #published(r: PayloadResult, why: string): void {
    const line = publishLine(r, why);
    if (line) this.#log(line);
  }

  #guarded(f: () => PayloadResult, why: string): void {
    try {
      this.#published(f(), why);
    } catch (e) {
      const c = this.#cache;
      const keep = c.hasData ? `still serving serial ${c.serial}` : "no data served";
      this.#log(`refused the upstream table (${why}): ${describeError(e)}; ${keep}`);
    }
  }
}
