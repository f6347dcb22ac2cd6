/**
 * What a probe scenario is and what it may use: the scenario and outcome types, the context
 * that opens bounded connections to the cache (each scenario its own), learns the cache's
 * highest version once (8210bis §7), and reads a response the tolerant way every scenario
 * shares, leaving each rule to the one scenario that checks it.
 */
import type { Clock } from "../clock.ts";
import { quoteText, RtrError } from "../errors.ts";
import { errorName, type Pdu, pduName } from "../wire/mod.ts";
import { errText, type RtrConn } from "../transport.ts";
import {
  type Answer,
  type Frame,
  hex,
  type PayloadMode,
  ProbeConn,
  type ReadEnd,
} from "./probe_conn.ts";

/** How a scenario ended. */
export type Status = "pass" | "fail" | "not-applicable";

/** The verdict of one scenario: what was seen, and the bytes when it failed. */
export interface Outcome {
  /** `pass`, `fail` or `not-applicable`. */
  status: Status;
  /** What was seen (one line). */
  detail: string;
  /** The offending bytes, hex (failures only). */
  hex?: string;
}

/** One entry of the scenario list. */
export interface Scenario {
  /** Stable id, for `--only` and reports. */
  id: string;
  /** Group, for JUnit class names: version, response, serial, error, session, notify. */
  group: string;
  /** The RFC or draft sections the verdict rests on. */
  section: string;
  /** What the probe sends. */
  sends: string;
  /** What passes. */
  passes: string;
  /** Time this scenario gets beyond the per-scenario bound (the notify wait). */
  extraMs?: (o: ProbeOptions) => number;
  /** Run the scenario against the cache; a thrown ProbeFailure is a failure with its bytes. */
  run(ctx: ProbeContext): Promise<Outcome>;
}

/** A scenario's outcome with its identity, as reports print it. */
export interface ScenarioResult extends Outcome {
  /** Stable id of the scenario. */
  id: string;
  /** Group of the scenario: version, response, serial, error, session, notify. */
  group: string;
  /** The RFC or draft sections the verdict rests on. */
  section: string;
}

/** How to reach the cache and how long to wait. */
export interface ProbeOptions {
  /** Opens one new connection to the cache (the probe closes it). */
  dial: (timeoutMs: number) => Promise<RtrConn>;
  /** `host:port` for reports. */
  target: string;
  /** Highest protocol version probed (0 to 2). */
  maxVersion: number;
  /** Bound of each scenario, ms. */
  timeoutMs: number;
  /** How long silence must last to count as "no answer", and to wait for a close, ms. */
  graceMs: number;
  /** How long to wait for a Serial Notify after the change command, ms. */
  notifyTimeoutMs: number;
  /** Makes the cache's data change (for the notify scenario); absent: not applicable. */
  change?: () => Promise<{ ok: boolean; detail: string }>;
  /** Sessions opened at once by the concurrency scenario. */
  concurrency: number;
  /** Time and timers (deadlines, waits); injected. */
  clock: Clock;
}

/** A scenario failed: its message, and the bytes that show it. */
export class ProbeFailure extends RtrError {
  readonly bytes?: Uint8Array;
  constructor(message: string, bytes?: Uint8Array) {
    super(message);
    this.bytes = bytes;
  }
}

/** The cache refused a version it was thought to speak: that version is skipped. */
export class VersionRefused extends RtrError {}

/** A passing outcome. */
export function pass(detail: string): Outcome {
  return { status: "pass", detail };
}

/** A failing outcome, with the bytes that show it. */
export function fail(detail: string, bytes?: Uint8Array | Uint8Array[]): Outcome {
  const b = Array.isArray(bytes) ? concat(bytes) : bytes;
  return b && b.length > 0 ? { status: "fail", detail, hex: hex(b) } : { status: "fail", detail };
}

/** A not-applicable outcome. */
export function notApplicable(detail: string): Outcome {
  return { status: "not-applicable", detail };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One line naming a PDU and its telling fields. */
export function describePdu(p: Pdu): string {
  const head = `${pduName(p.type)} v${p.version}`;
  switch (p.type) {
    case 0:
    case 1:
      return `${head} session ${p.sessionId} serial ${p.serial}`;
    case 3:
      return `${head} session ${p.sessionId}`;
    case 7:
      return p.refresh === undefined
        ? `${head} session ${p.sessionId} serial ${p.serial}`
        : `${head} session ${p.sessionId} serial ${p.serial} refresh ${p.refresh} retry ${p.retry} expire ${p.expire}`;
    case 10:
      return `${head} code ${p.errorCode} (${errorName(p.errorCode)})${
        p.text ? ` ${quoteText(p.text)}` : ""
      }`;
    default:
      return head;
  }
}

/** One line naming a frame (decoded or not). */
export function describeFrame(f: Frame): string {
  if (f.pdu) return describePdu(f.pdu);
  return `undecodable PDU (${f.error?.message ?? "unknown error"})`;
}

const END_TEXT: Record<ReadEnd, string> = {
  closed: "the cache closed the connection",
  timeout: "no answer before the scenario's time ran out",
  unframeable: "a PDU length outside 8..65535 made framing impossible",
};

/** One line for what an answer held and how it ended. */
export function describeAnswer(a: Answer): string {
  const parts: string[] = [];
  const payload = a.frames.filter((f) => isPayloadType(f.raw[1])).length + a.skipped;
  for (const f of a.frames) {
    if (isPayloadType(f.raw[1]) && f.pdu) continue;
    parts.push(describeFrame(f));
  }
  if (payload > 0) parts.splice(Math.min(1, parts.length), 0, `${payload} payload PDUs`);
  if (a.end !== "pdu") parts.push(END_TEXT[a.end]);
  return parts.length > 0 ? parts.join(", ") : "nothing";
}

/** True for the payload PDU types (IPv4/IPv6 Prefix, Router Key, ASPA). */
export function isPayloadType(t: number): boolean {
  return t === 4 || t === 6 || t === 9 || t === 11;
}

/** The bytes of the frames of an answer, for a failure's hex (first 8 frames). */
export function answerBytes(a: Answer, max = 8): Uint8Array[] {
  return a.frames.slice(0, max).map((f) => f.raw);
}

/** A complete response (Cache Response … End of Data) as every scenario reads it. */
export interface Response {
  answer: Answer;
  sessionId: number;
  /** The Cache Response's version. */
  version: number;
  /** Frames between Cache Response and End of Data kept (none when skimmed or visited). */
  payload: Frame[];
  /** Payload PDUs in the response, kept or not. */
  payloadCount: number;
  endOfData: Pdu & { type: 7 };
  /** The End of Data frame's bytes. */
  endRaw: Uint8Array;
}

/** What the cache answered to a query, told apart for the scenarios. */
export type Reply =
  | { kind: "response"; answer: Answer; response: Response }
  | { kind: "cache-reset"; answer: Answer }
  | { kind: "error"; answer: Answer; pdu: Pdu & { type: 10 }; raw: Uint8Array }
  | { kind: "other"; answer: Answer };

/**
 * The header fields of a Cache Response or End of Data frame even when it does not decode (a
 * wrong length is reset-response's to report, not every scenario's): session, serial, timers.
 */
function lenient(f: Frame): Pdu | undefined {
  if (f.pdu) return f.pdu;
  const b = f.raw, t = b[1];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const sessionId = view.getUint16(2);
  if (t === 3) return { type: 3, version: b[0], sessionId };
  if (t !== 7 || b.length < 12) return undefined;
  const eod: Pdu = { type: 7, version: b[0], sessionId, serial: view.getUint32(8) };
  if (b.length >= 24) {
    eod.refresh = view.getUint32(12);
    eod.retry = view.getUint32(16);
    eod.expire = view.getUint32(20);
  }
  return eod;
}

/**
 * Classify an answer; a response is a Cache Response first and an End of Data last (read
 * leniently when they do not decode).
 */
export function classify(a: Answer): Reply {
  const first = a.frames[0];
  if (first?.pdu?.type === 10 && a.frames.length === 1) {
    return { kind: "error", answer: a, pdu: first.pdu, raw: first.raw };
  }
  if (first?.pdu?.type === 8 && a.frames.length === 1) return { kind: "cache-reset", answer: a };
  const last = a.frames[a.frames.length - 1];
  const head = first && lenient(first), tail = last && lenient(last);
  if (head?.type === 3 && a.frames.length >= 2 && a.end === "pdu" && tail?.type === 7) {
    return {
      kind: "response",
      answer: a,
      response: {
        answer: a,
        sessionId: head.sessionId,
        version: head.version,
        payload: a.frames.slice(1, -1),
        payloadCount: a.frames.length - 2 + a.skipped,
        endOfData: tail,
        endRaw: last.raw,
      },
    };
  }
  return { kind: "other", answer: a };
}

/** What the scenarios share across one probe run: the cache's highest version, once known. */
export interface SharedState {
  cacheVersion?: number;
  /** Versions the cache refused with Error 4 although they are not above its highest. */
  refused: Set<number>;
}

/** What a running scenario uses: bounded connections and the facts learned so far. */
export class ProbeContext {
  /** How to reach the cache and how long to wait. */
  readonly options: ProbeOptions;
  /** Clock time (ms) by which the scenario must end; every read is bounded by it. */
  readonly deadline: number;
  readonly #shared: SharedState;
  readonly #conns: ProbeConn[] = [];

  /**
   * Reads end at the deadline, a little before the runner's hard stop at `budgetMs`, so that a
   * stalled read reports what it waited for rather than the stop.
   */
  constructor(options: ProbeOptions, shared: SharedState, budgetMs = options.timeoutMs) {
    this.options = options;
    this.#shared = shared;
    this.deadline = options.clock.now() + budgetMs - Math.min(100, budgetMs / 10);
  }

  /** Ms left before this scenario's deadline. */
  get left(): number {
    return Math.max(0, this.deadline - this.options.clock.now());
  }

  /** Open a new connection (bounded by the deadline); a failure fails the scenario. */
  async open(): Promise<ProbeConn> {
    let conn: RtrConn;
    try {
      conn = await this.options.dial(Math.max(1, this.left));
    } catch (e) {
      throw new ProbeFailure(
        `Cannot connect: ${errText(e).replace(/^Cannot connect to \S+: /, "")}`,
      );
    }
    const pc = new ProbeConn(conn, this.options.clock, this.deadline);
    this.#conns.push(pc);
    return pc;
  }

  /** Close every connection this scenario opened. */
  closeAll(): void {
    for (const c of this.#conns) c.close();
  }

  /**
   * Open a connection, send `query`, read the answer (the connection stays open); `mode` says
   * what becomes of payload PDUs.
   */
  async ask(
    query: Pdu | Uint8Array,
    mode: PayloadMode = "decode",
    visit?: (f: Frame) => void,
  ): Promise<{ conn: ProbeConn; answer: Answer }> {
    const conn = await this.open();
    await conn.send(query);
    return { conn, answer: await conn.answer(undefined, mode, visit) };
  }

  /**
   * A full response to a Reset Query at `version`, or a ProbeFailure saying what came; Error 4
   * marks the version refused and throws VersionRefused. `mode` says what becomes of the
   * payload (`skim` for scenarios that need the session and serial, not the records); `visit`
   * sees each payload PDU instead of the response keeping it.
   */
  async reset(
    version: number,
    mode: PayloadMode = "decode",
    visit?: (f: Frame) => void,
  ): Promise<{ conn: ProbeConn; response: Response }> {
    const { conn, answer } = await this.ask({ type: 2, version }, mode, visit);
    const r = classify(answer);
    if (r.kind === "error" && r.pdu.errorCode === 4) {
      this.refuse(version);
      throw new VersionRefused(`version ${version} refused: ${describePdu(r.pdu)}`);
    }
    if (r.kind !== "response") {
      throw new ProbeFailure(
        `Reset Query v${version} was not answered with Cache Response … End of Data: ${
          describeAnswer(answer)
        }`,
        concat(answerBytes(answer)),
      );
    }
    return { conn, response: r.response };
  }

  /** Mark `version` as refused by the cache (Error 4 at or below its highest version). */
  refuse(version: number): void {
    this.#shared.refused.add(version);
  }

  /**
   * The cache's highest protocol version (8210bis §7), learned once per probe: a Reset Query at
   * each version from the highest probed down until one is answered; an Error Report
   * "Unsupported Protocol Version" names the cache's version in its header.
   */
  async cacheVersion(): Promise<number> {
    if (this.#shared.cacheVersion !== undefined) return this.#shared.cacheVersion;
    const seen: string[] = [];
    for (let q = this.options.maxVersion; q >= 0; q--) {
      const { conn, answer } = await this.ask({ type: 2, version: q }, "skim");
      conn.close();
      const first = answer.frames[0];
      if (first?.pdu?.type === 3 && first.pdu.version <= q) {
        return this.#shared.cacheVersion = first.pdu.version;
      }
      if (first?.pdu?.type === 10 && first.pdu.errorCode === 4 && first.pdu.version < q) {
        return this.#shared.cacheVersion = first.pdu.version;
      }
      if (first?.pdu?.type === 10 && first.pdu.errorCode === 2) {
        throw new ProbeFailure(`The cache has no data yet: ${describePdu(first.pdu)}`, first.raw);
      }
      seen.push(`v${q}: ${describeAnswer(answer)}`);
    }
    throw new ProbeFailure(
      `No Reset Query from version ${this.options.maxVersion} down to 0 was answered (${
        seen.join("; ")
      })`,
    );
  }

  /** Versions to run per-version checks at: 0 to min(highest probed, cache's), minus refused. */
  async versions(): Promise<number[]> {
    const top = Math.min(this.options.maxVersion, await this.cacheVersion());
    const out: number[] = [];
    for (let v = 0; v <= top; v++) if (!this.#shared.refused.has(v)) out.push(v);
    return out;
  }
}

/**
 * Run `check` at every version the probe and the cache share (a Reset Query answered with Error
 * 4 there marks the version refused and is skipped); the outcome passes when every version
 * passed, names the first failure otherwise, and is not applicable when no version qualified.
 */
export async function perVersion(
  ctx: ProbeContext,
  qualifies: (v: number) => boolean,
  check: (v: number) => Promise<Outcome>,
): Promise<Outcome> {
  const versions = (await ctx.versions()).filter(qualifies);
  if (versions.length === 0) {
    return notApplicable("no version the probe and the cache share applies");
  }
  const passed: string[] = [];
  const na: string[] = [];
  for (const v of versions) {
    let o: Outcome;
    try {
      o = await check(v);
    } catch (e) {
      if (!(e instanceof VersionRefused)) throw e;
      o = notApplicable(e.message);
    }
    if (o.status === "fail") return { ...o, detail: `v${v}: ${o.detail}` };
    if (o.status === "pass") passed.push(`v${v}: ${o.detail}`);
    else na.push(`v${v}: ${o.detail}`);
  }
  if (passed.length === 0) return notApplicable(na.join("; "));
  return pass([...passed, ...na].join("; "));
}
