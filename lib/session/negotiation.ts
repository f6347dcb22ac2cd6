/**
 * The one version-negotiation policy of the router side (8210bis §7, RFC 8210 §7), shared by a
 * single sync and a long-lived follower: which version to propose on the next connection, when
 * an Error Report "Unsupported Protocol Version", a lower-version answer or a silent hang-up
 * means "step down", and when it does not. Sans-I/O: it only decides.
 */
import { MAX_VERSION } from "../wire/mod.ts";

/** What the driver does after a negotiation step. */
export type NegotiationStep =
  /** Reconnect at once and propose `version`; `message` says why (for stderr). */
  | { kind: "reconnect"; version: number; downgrade: boolean; message: string }
  /** Negotiation is hopeless at this point: fail (a single sync) or wait Retry (a follower). */
  | { kind: "fail"; message: string }
  /** Not a negotiation matter: an ordinary lost connection. */
  | { kind: "none" };

/** Version negotiation state across the connections to one cache. */
export class VersionNegotiation {
  /** The highest version we propose (the user's `--protocol`). */
  readonly highest: number;
  /** Version to propose on the next connection that starts with a Reset Query. */
  version: number;
  /** Versions the cache has answered at: a hang-up at one of them is no downgrade hint. */
  #spoken = new Set<number>();
  /** Versions given up in the current round. */
  #failed = new Set<number>();
  /** Silent hang-ups in a row at `version`. */
  #hangUps = 0;
  /** Set when the current round went below the version it started at. */
  downgradedFrom: number | null = null;
  #reported = false;

  /** Propose at most `highest`; `spoken` is a version the cache is known to answer at. */
  constructor(highest = MAX_VERSION, spoken?: number) {
    this.highest = Math.min(highest, MAX_VERSION);
    this.version = this.highest;
    if (spoken !== undefined) this.#spoken.add(spoken);
  }

  /** The cache answered (a response PDU at `answered`) a query proposed at `proposed`. */
  answered(proposed: number, answered: number): void {
    this.#spoken.add(answered);
    this.#hangUps = 0;
    this.version = answered;
    // RFC 8210 §7 case (b): a lower-version answer is an implicit downgrade.
    if (answered < proposed && this.downgradedFrom === null) {
      this.downgradedFrom = proposed;
      this.#reported = false;
    }
  }

  /** Error Report 4 before negotiation completed, naming the version `named` the cache speaks. */
  unsupported(
    proposed: number,
    named: number,
    reason: string,
  ): Exclude<NegotiationStep, { kind: "none" }> {
    this.#failed.add(proposed);
    if (named >= proposed || named > MAX_VERSION || this.#failed.has(named)) {
      return { kind: "fail", message: `Version negotiation failed: ${reason}` };
    }
    return this.#downgrade(proposed, named, `cache does not speak version ${proposed} (${reason})`);
  }

  /**
   * The cache closed the connection before sending a single byte in answer to a query at
   * `proposed`. RFC 8210 §7 case (a) lets an old cache do that to an unknown version, but so
   * does a cache that is merely restarting: it is a hint only for a version the cache has never
   * answered at, and only when it happens twice in a row at that version.
   */
  hungUp(proposed: number): NegotiationStep {
    if (proposed === 0 || this.#spoken.has(proposed)) return { kind: "none" };
    this.#hangUps++;
    if (this.#hangUps < 2) {
      return {
        kind: "reconnect",
        version: proposed,
        downgrade: false,
        message:
          `cache closed the connection without answering version ${proposed}; trying version ${proposed} once more`,
      };
    }
    this.#failed.add(proposed);
    if (this.#failed.has(proposed - 1)) return { kind: "none" };
    return this.#downgrade(
      proposed,
      proposed - 1,
      `cache closed the connection twice without answering version ${proposed}`,
    );
  }

  #downgrade(
    from: number,
    to: number,
    why: string,
  ): Extract<NegotiationStep, { kind: "reconnect" }> {
    this.#hangUps = 0;
    this.version = to;
    if (this.downgradedFrom === null) {
      this.downgradedFrom = from;
      this.#reported = false;
    }
    return {
      kind: "reconnect",
      version: to,
      downgrade: true,
      message: `${why}; downgrading to version ${to}`,
    };
  }

  /**
   * The version negotiation started from, once, for the first sync at the lower version
   * `answered` (what the `sync` record calls `downgradedFrom`); undefined otherwise.
   */
  takeDowngrade(answered: number): number | undefined {
    const from = this.downgradedFrom;
    if (from === null || this.#reported || answered >= from) return undefined;
    this.#reported = true;
    return from;
  }

  /**
   * A new round: the next Reset Query proposes the highest version again (a cache upgraded
   * meanwhile is not held at the lower version forever).
   */
  restart(): void {
    this.version = this.highest;
    this.#failed.clear();
    this.#hangUps = 0;
    this.downgradedFrom = null;
    this.#reported = false;
  }
}
