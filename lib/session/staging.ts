/**
 * The staging of one response, from Cache Response to End of Data (8210bis §11.3, RFC 8210
 * §5.6–§5.11): announcements and withdrawals collected apart, record identity as 8210bis §5.6
 * defines it, duplicate announcements (error 7) and withdrawals of unknown records (error 6)
 * found, and the commit to a new `PayloadTable` at End of Data. Within one response the
 * withdrawals apply before the announcements, so re-announcing a record that is also withdrawn
 * is no duplicate. A response is capped in records and bytes, so a cache that never sends End
 * of Data cannot take all memory.
 *
 * Strict (a router): the first violation fails the response and is returned. Lenient (`replay
 * --check`): every violation goes to `onViolation` and the response is applied as far as it can
 * be. The same rules either way.
 */
import { ErrorCode, FLAG_ANNOUNCE, type Pdu, pduName, readPrefixWords } from "../wire/mod.ts";
import type { AspaPdu, PayloadPdu, PrefixPdu, RouterKeyPdu } from "../wire/mod.ts";
import {
  type Aspa,
  compareAspa,
  compareRouterKey,
  parsePrefix,
  type PayloadTable,
  type RouterKey,
  routerKeyId,
  type TableDiff,
  toBase64,
  toHex,
  type Vrp,
  type VrpSet,
  VrpSetBuilder,
} from "../model/mod.ts";

/** Scratch for the prefix fast path's address words. */
const PREFIX_WORDS = new Uint32Array(4);

/** Records one response may hold at least, whatever the previous table (issue 16). */
export const DEFAULT_MAX_RESPONSE_RECORDS = 10_000_000;
/** Payload bytes one response may hold at least, whatever the previous table. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1 << 30;
/** The default caps are this multiple of the previous table when that is larger. */
export const RESPONSE_GROWTH = 4;

/** How violations are handled: fail the response (a router) or report them and go on. */
export type StagingMode = "strict" | "lenient";

/** Rules the staging checks. */
export type StagingRule =
  | "withdrawal-in-reset"
  | "duplicate-announcement"
  | "unknown-withdrawal"
  | "aspa-stale-withdrawal"
  | "response-too-large";

/** One problem found in a response. */
export interface StagingViolation {
  rule: StagingRule;
  /** RFC error code a router sends for it; null when a router only ignores the PDU. */
  code: number | null;
  message: string;
  /** The offending PDU (or one rebuilt from the staged record), when there is one. */
  pdu: Pdu | null;
}

/** Caps on one response. */
export interface ResponseLimits {
  /** Payload records (announcements and withdrawals). */
  maxRecords: number;
  /** Payload PDU bytes on the wire. */
  maxBytes: number;
}

/** Options of a staging. */
export interface StagingOptions {
  /** Default "strict". */
  mode?: StagingMode;
  /** Lenient mode: called for every violation, in the order found. */
  onViolation?: (v: StagingViolation) => void;
  /** Caps on the response (default: none). */
  limits?: ResponseLimits;
}

/** Estimated wire bytes of a table's payload PDUs. */
export function tableWireBytes(t: PayloadTable): number {
  const v4 = t.vrps.ipv4Count;
  let n = v4 * 20 + (t.vrps.size - v4) * 32;
  for (const k of t.routerKeys) n += 32 + Math.floor(k.pubkey.length * 3 / 4);
  for (const a of t.aspas) n += 12 + 4 * a.providers.length;
  return n;
}

/**
 * The caps on the next response: `maxRecords` / `maxBytes` when given, otherwise the larger of
 * the defaults and `RESPONSE_GROWTH` times the previous table.
 */
export function responseLimits(
  previous: PayloadTable,
  opts: { maxRecords?: number; maxBytes?: number } = {},
): ResponseLimits {
  const records = previous.vrps.size + previous.routerKeys.length + previous.aspas.length;
  return {
    maxRecords: opts.maxRecords ??
      Math.max(DEFAULT_MAX_RESPONSE_RECORDS, RESPONSE_GROWTH * records),
    maxBytes: opts.maxBytes ??
      Math.max(DEFAULT_MAX_RESPONSE_BYTES, RESPONSE_GROWTH * tableWireBytes(previous)),
  };
}

/** What a commit produced. */
export interface StagedCommit {
  table: PayloadTable;
  /** Legacy-layout ASPA state after the commit (keyed `customer:afi`). */
  legacy: Map<string, number[]>;
  /** Set for a delta-only commit (the delta as it came); otherwise the caller diffs tables. */
  diff?: TableDiff;
}

/** Legacy-layout ASPA operation, in order. */
interface LegacyAspaOp {
  announce: boolean;
  customer: number;
  afi: number;
  providers: number[];
  pdu: AspaPdu;
}

function vrpText(v: Vrp): string {
  return `${v.prefix}-${v.maxLength} AS${v.asn}`;
}

/** A Prefix PDU rebuilt from a staged VRP, for a violation record. */
function vrpPdu(v: Vrp, version: number, announce: boolean): PrefixPdu {
  const p = parsePrefix(v.prefix);
  const base = {
    version,
    flags: announce ? FLAG_ANNOUNCE : 0,
    prefixLength: p.length,
    maxLength: v.maxLength,
    addr: [...p.addr],
    asn: v.asn,
  };
  return p.family === 6 ? { type: 6, ...base } : { type: 4, ...base };
}

/** Wire length of a payload PDU. */
function payloadBytes(p: PayloadPdu): number {
  if (p.type === 9) return 32 + p.spki.length;
  if (p.type === 11) return (p.legacyAfi !== undefined ? 16 : 12) + 4 * p.providers.length;
  return p.type === 6 ? 32 : 20;
}

/** The staging of one response (Cache Response … End of Data). */
export class Staging {
  /** True for the answer to a Reset Query (a full table: no withdrawals). */
  readonly reset: boolean;
  readonly sessionId: number;
  readonly version: number;
  readonly mode: StagingMode;
  /** Records announced / withdrawn so far. */
  announced = 0;
  withdrawn = 0;
  /** Prefix PDUs that had host bits set (masked). */
  hostBits = 0;
  /** Payload bytes staged so far. */
  bytes = 0;
  #vrpAnnounce: VrpSetBuilder;
  #vrpWithdraw: VrpSetBuilder;
  #keyAnnounce = new Map<string, RouterKey>();
  #keyWithdraw = new Map<string, RouterKey>();
  /** Current-layout ASPA: customer → providers (announce) or null (withdraw), last one wins. */
  #aspa = new Map<number, { providers: number[] | null; pdu: AspaPdu }>();
  #legacyAspa: LegacyAspaOp[] = [];
  #onViolation?: (v: StagingViolation) => void;
  #maxRecords: number;
  #maxBytes: number;
  #overflow: StagingViolation | null = null;
  /**
   * Prefix PDUs the fast path may still stage without looking at the caps: records left, and
   * no more than the bytes left hold at 32 bytes each. At 0 the exact check of `stage()` decides.
   */
  #room: number;

  constructor(reset: boolean, sessionId: number, version: number, opts: StagingOptions = {}) {
    this.reset = reset;
    this.sessionId = sessionId;
    this.version = version;
    this.mode = opts.mode ?? "strict";
    this.#onViolation = opts.onViolation;
    this.#maxRecords = opts.limits?.maxRecords ?? Infinity;
    this.#maxBytes = opts.limits?.maxBytes ?? Infinity;
    this.#room = this.#roomLeft();
    this.#vrpAnnounce = new VrpSetBuilder(reset ? 1 << 16 : 1024);
    this.#vrpWithdraw = new VrpSetBuilder(reset ? 16 : 1024);
  }

  /**
   * A violation: lenient mode reports it and goes on (null); strict mode returns it when a
   * router fails the response for it, and ignores it otherwise.
   */
  #violation(
    rule: StagingRule,
    code: number | null,
    message: string,
    pdu: Pdu | null,
  ): StagingViolation | null {
    const v = { rule, code, message, pdu };
    if (this.mode === "lenient") {
      this.#onViolation?.(v);
      return null;
    }
    return code === null ? null : v;
  }

  #roomLeft(): number {
    const records = this.#maxRecords - this.announced - this.withdrawn;
    return Math.max(0, Math.min(records, Math.floor((this.#maxBytes - this.bytes) / 32)));
  }

  /**
   * The violation when `bytes` more bytes would take the response past its caps (the record is
   * not staged), else null. Never lenient: a response this large must not take all memory; it is
   * reported once, and every later record is refused the same way.
   */
  #tooLarge(bytes: number, pdu: Pdu): StagingViolation | null {
    if (this.#overflow) return this.#overflow;
    const n = this.announced + this.withdrawn;
    if (n < this.#maxRecords && this.bytes + bytes <= this.#maxBytes) return null;
    const what = n >= this.#maxRecords ? `${this.#maxRecords} records` : `${this.#maxBytes} bytes`;
    this.#overflow = {
      rule: "response-too-large",
      code: null,
      message: `Response exceeds ${what} without End of Data; keeping the previous table`,
      pdu,
    };
    this.#onViolation?.(this.#overflow);
    return this.#overflow;
  }

  /**
   * Stage one payload PDU. Returns the violation that fails the response (strict mode; the
   * cap in either mode), else null.
   */
  stage(p: PayloadPdu): StagingViolation | null {
    const announce = (p.flags & FLAG_ANNOUNCE) !== 0;
    if (this.reset && !announce) {
      return this.#violation(
        "withdrawal-in-reset",
        ErrorCode.CorruptData,
        `Withdrawal (${pduName(p.type)}) in the response to a Reset Query`,
        p,
      );
    }
    const bytes = payloadBytes(p);
    const big = this.#tooLarge(bytes, p);
    if (big) return big;
    this.bytes += bytes;
    if (announce) this.announced++;
    else this.withdrawn++;
    this.#room = this.#roomLeft();
    if (p.type === 9) return this.#stageKey(p, announce);
    if (p.type === 11) return this.#stageAspa(p, announce);
    if (p.hostBits) this.hostBits++;
    (announce ? this.#vrpAnnounce : this.#vrpWithdraw).add(
      p.type === 6,
      p.addr,
      p.prefixLength,
      p.maxLength,
      p.asn,
    );
    return null;
  }

  /**
   * Fast path for a whole IPv4/IPv6 Prefix PDU at `off` of `bytes`: stage it without building
   * a value. Returns false, leaving everything as it was, for any PDU that is not a plain, valid
   * prefix of this response's version that fits the caps; `stage()` then takes it and reports
   * what is wrong.
   */
  stagePrefixBytes(bytes: Uint8Array, view: DataView, off: number): boolean {
    if (bytes[off] !== this.version) return false;
    const announce = (bytes[off + 8] & FLAG_ANNOUNCE) !== 0;
    if (this.reset && !announce) return false;
    const v6 = bytes[off + 1] === 6;
    const prefixLength = bytes[off + 9], maxLength = bytes[off + 10];
    if (prefixLength > maxLength || maxLength > (v6 ? 128 : 32)) return false;
    if (this.#room <= 0) return false;
    const w = PREFIX_WORDS;
    if (readPrefixWords(view, off, v6, prefixLength, w)) this.hostBits++;
    (announce ? this.#vrpAnnounce : this.#vrpWithdraw).addWords(
      v6,
      w[0],
      v6 ? w[1] : 0,
      v6 ? w[2] : 0,
      v6 ? w[3] : 0,
      prefixLength,
      maxLength,
      view.getUint32(off + (v6 ? 28 : 16)),
    );
    this.#room--;
    this.bytes += v6 ? 32 : 20;
    if (announce) this.announced++;
    else this.withdrawn++;
    return true;
  }

  #stageKey(p: RouterKeyPdu, announce: boolean): StagingViolation | null {
    const k: RouterKey = { asn: p.asn, ski: toHex(p.ski), pubkey: toBase64(p.spki) };
    const id = routerKeyId(k);
    const map = announce ? this.#keyAnnounce : this.#keyWithdraw;
    if (map.has(id)) {
      return this.#violation(
        announce ? "duplicate-announcement" : "unknown-withdrawal",
        announce ? ErrorCode.DuplicateAnnouncement : ErrorCode.WithdrawalOfUnknownRecord,
        `Router Key SKI ${k.ski} AS${k.asn} ${
          announce ? "announced" : "withdrawn"
        } twice in one response`,
        p,
      );
    }
    map.set(id, k);
    return null;
  }

  #stageAspa(p: AspaPdu, announce: boolean): StagingViolation | null {
    if (p.legacyAfi !== undefined) {
      this.#legacyAspa.push({
        announce,
        customer: p.customer,
        afi: p.legacyAfi,
        providers: [...new Set(p.providers)].sort((a, b) => a - b),
        pdu: p,
      });
      return null;
    }
    // Current layout: an announcement replaces the customer's record, a withdrawal deletes it.
    this.#aspa.set(p.customer, { providers: announce ? p.providers : null, pdu: p });
    return null;
  }

  /**
   * Apply the response to `base` (the table held) and `baseLegacy` (legacy ASPA state). Returns
   * the new table, or the violation that fails the response (strict mode).
   */
  commit(
    base: PayloadTable,
    baseLegacy: Map<string, number[]>,
  ): StagedCommit | StagingViolation {
    const reset = this.reset, version = this.version;
    const ann = this.#vrpAnnounce.build();
    for (const d of ann.duplicates) {
      const v = this.#violation(
        "duplicate-announcement",
        ErrorCode.DuplicateAnnouncement,
        `Duplicate announcement of ${vrpText(d)}${reset ? " in a reset response" : ""}`,
        vrpPdu(d, version, true),
      );
      if (v) return v;
    }
    let vrps: VrpSet;
    let keys: Map<string, RouterKey>;
    const legacy = reset ? new Map<string, number[]>() : new Map(baseLegacy);
    let aspas: Map<number, number[]>;
    if (reset) {
      vrps = ann.set;
      keys = new Map(this.#keyAnnounce);
      aspas = new Map();
    } else {
      const cur = base.vrps;
      const wd = this.#vrpWithdraw.build();
      for (let j = 0; j < ann.set.size; j++) {
        if (cur.indexOfRecord(ann.set.data, j) >= 0 && wd.set.indexOfRecord(ann.set.data, j) < 0) {
          const d = ann.set.at(j);
          const v = this.#violation(
            "duplicate-announcement",
            ErrorCode.DuplicateAnnouncement,
            `Duplicate announcement of ${vrpText(d)}`,
            vrpPdu(d, version, true),
          );
          if (v) return v;
        }
      }
      for (const d of wd.duplicates) {
        const v = this.#violation(
          "unknown-withdrawal",
          ErrorCode.WithdrawalOfUnknownRecord,
          `Withdrawal of ${vrpText(d)} appears twice`,
          vrpPdu(d, version, false),
        );
        if (v) return v;
      }
      for (let j = 0; j < wd.set.size; j++) {
        if (cur.indexOfRecord(wd.set.data, j) < 0) {
          const d = wd.set.at(j);
          const v = this.#violation(
            "unknown-withdrawal",
            ErrorCode.WithdrawalOfUnknownRecord,
            `Withdrawal of unknown record ${vrpText(d)}`,
            vrpPdu(d, version, false),
          );
          if (v) return v;
        }
      }
      // Tolerant: unknown withdrawals are skipped, re-announcements merged (lenient mode).
      vrps = cur.apply(ann.set, wd.set);
      keys = new Map(base.routerKeys.map((k) => [routerKeyId(k), k]));
      for (const [id, k] of this.#keyWithdraw) {
        if (!keys.delete(id)) {
          const v = this.#violation(
            "unknown-withdrawal",
            ErrorCode.WithdrawalOfUnknownRecord,
            `Withdrawal of unknown Router Key SKI ${k.ski} AS${k.asn}`,
            null,
          );
          if (v) return v;
        }
      }
      for (const [id, k] of this.#keyAnnounce) {
        if (keys.has(id)) {
          const v = this.#violation(
            "duplicate-announcement",
            ErrorCode.DuplicateAnnouncement,
            `Duplicate announcement of Router Key SKI ${k.ski} AS${k.asn}`,
            null,
          );
          if (v) return v;
        }
        keys.set(id, k);
      }
      aspas = new Map(
        base.aspas.filter((a) => !fromLegacy(baseLegacy, a.customer)).map((
          a,
        ) => [a.customer, a.providers]),
      );
    }
    for (const [customer, { providers, pdu }] of this.#aspa) {
      if (providers) aspas.set(customer, providers);
      else if (!aspas.delete(customer)) {
        const v = this.#violation(
          "unknown-withdrawal",
          ErrorCode.WithdrawalOfUnknownRecord,
          `Withdrawal of unknown ASPA record for customer AS${customer}`,
          pdu,
        );
        if (v) return v;
      }
    }
    // Legacy layout: records keyed by (customer, AFI); a withdrawal that names a provider list
    // other than the one held is a stale one (StayRTR sends announce-new then withdraw-old).
    for (const op of this.#legacyAspa) {
      const key = `${op.customer}:${op.afi}`;
      if (op.announce) {
        legacy.set(key, op.providers);
        continue;
      }
      const held = legacy.get(key);
      if (!held && aspas.has(op.customer)) {
        // Resumed from a stored table, which does not remember AFIs.
        if (aspas.get(op.customer)!.join(",") === op.providers.join(",")) {
          aspas.delete(op.customer);
        }
        continue;
      }
      if (!held) {
        const v = this.#violation(
          "unknown-withdrawal",
          ErrorCode.WithdrawalOfUnknownRecord,
          `Withdrawal of unknown ASPA record for customer AS${op.customer} (AFI ${op.afi})`,
          op.pdu,
        );
        if (v) return v;
        continue;
      }
      if (held.join(",") === op.providers.join(",")) legacy.delete(key);
      else {
        this.#violation(
          "aspa-stale-withdrawal",
          null,
          `ASPA withdrawal for customer AS${op.customer} names providers ${
            op.providers.join(",")
          }, held are ${held.join(",")}`,
          op.pdu,
        );
      }
    }
    for (const [key, providers] of legacy) {
      const customer = Number(key.slice(0, key.indexOf(":")));
      const merged = new Set([...(aspas.get(customer) ?? []), ...providers]);
      aspas.set(customer, [...merged].sort((a, b) => a - b));
    }
    return {
      table: {
        vrps,
        routerKeys: [...keys.values()].sort(compareRouterKey),
        aspas: [...aspas].map(([customer, providers]) => ({ customer, providers })).sort(
          compareAspa,
        ),
      },
      legacy,
    };
  }

  /**
   * Commit the answer to a Serial Query from a known point with no table of our own
   * (`--serial/--session`): the delta is reported as it came (withdrawals stay withdrawals) and
   * its announcements become the table. Fails only on duplicate announcements.
   */
  commitDeltaOnly(): StagedCommit | StagingViolation {
    const ann = this.#vrpAnnounce.build();
    for (const d of ann.duplicates) {
      const v = this.#violation(
        "duplicate-announcement",
        ErrorCode.DuplicateAnnouncement,
        `Duplicate announcement of ${vrpText(d)}`,
        vrpPdu(d, this.version, true),
      );
      if (v) return v;
    }
    const aspaAnnounced: Aspa[] = [], aspaWithdrawn: Aspa[] = [];
    for (const [customer, { providers }] of this.#aspa) {
      (providers ? aspaAnnounced : aspaWithdrawn).push({ customer, providers: providers ?? [] });
    }
    for (const op of this.#legacyAspa) {
      (op.announce ? aspaAnnounced : aspaWithdrawn).push({
        customer: op.customer,
        providers: op.providers,
      });
    }
    const announced = ann.set;
    return {
      table: { vrps: announced, routerKeys: [...this.#keyAnnounce.values()], aspas: aspaAnnounced },
      legacy: new Map(),
      diff: {
        vrps: { announced, withdrawn: this.#vrpWithdraw.build().set },
        routerKeys: {
          announced: [...this.#keyAnnounce.values()],
          withdrawn: [...this.#keyWithdraw.values()],
        },
        aspas: { announced: aspaAnnounced, withdrawn: aspaWithdrawn },
      },
    };
  }
}

/** True when the commit failed (strict mode). */
export function isViolation(r: StagedCommit | StagingViolation): r is StagingViolation {
  return "rule" in r;
}

function fromLegacy(legacy: Map<string, number[]>, customer: number): boolean {
  for (const k of legacy.keys()) if (k.startsWith(`${customer}:`)) return true;
  return false;
}
