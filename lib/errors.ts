/**
 * Error types for the whole program. Every thrown error is an RtrError subclass; protocol errors
 * carry the RFC 8210 / 8210bis error code and the offending bytes so that the session can send a
 * correct Error Report (8210bis §5.11, §12).
 */

/** Base class of every error `rtr` throws on purpose. */
export class RtrError extends Error {
  /** Process exit code this error maps to (README "Exit codes"). */
  exitCode = 1;
  /** An error with a one-line, sentence-case `message` (and `options.cause`). */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line: exit 2. */
export class UsageError extends RtrError {
  /** Usage errors exit with code 2. */
  override exitCode = 2;
}

/** A PDU that cannot be decoded or violates the protocol; `code` is the RFC error code. */
export class DecodeError extends RtrError {
  /** RFC error code to report to the peer. */
  readonly code: number;
  /** The offending PDU (or its first bytes), to encapsulate in the Error Report. */
  readonly pdu?: Uint8Array;
  /** A violation with error `code` and the offending `pdu` bytes. */
  constructor(code: number, message: string, pdu?: Uint8Array, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.pdu = pdu;
  }
}

/** The peer sent an Error Report: `code` and `text` as received; the message quotes the text safely. */
export class PeerError extends RtrError {
  /** Error code from the peer's Error Report. */
  readonly code: number;
  /** Arbitrary text from the peer's Error Report (may be empty). */
  readonly text: string;
  /** From a received Error Report; exits 4 for No Data Available (code 2), 3 otherwise. */
  constructor(code: number, text: string, message: string) {
    super(message);
    this.code = code;
    this.text = text;
    this.exitCode = code === 2 ? 4 : 3;
  }
}

/** Connection, DNS, TLS or timeout trouble: exit 1. */
export class TransportError extends RtrError {}

/** A file or table that cannot be read or parsed: exit 1 (2 for `diff`). */
export class InputError extends RtrError {}

/**
 * One line for stderr describing any error, with no stack trace. A runtime's "not found" error
 * (recognised by its name, so this layer needs no runtime API) already says what was missing.
 */
export function describeError(e: unknown): string {
  if (e instanceof RtrError) return e.message;
  if (e instanceof Error && e.name === "NotFound") return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Longest untrusted text `quoteText` keeps, in characters, before it cuts with `…`. */
export const QUOTED_TEXT_MAX = 200;

/**
 * Untrusted text (a peer's Error Report) made safe for a terminal and one line: control
 * characters (C0, DEL, C1, so also ESC and newlines), line and paragraph separators and bidi
 * controls escaped (`\n`, `\x1b`, `\u2028`), backslash and quote escaped, cut after `max`
 * characters with `…`, in double quotes.
 */
export function quoteText(text: string, max = QUOTED_TEXT_MAX): string {
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n === max) return `"${out}…"`;
    n++;
    const c = ch.codePointAt(0)!;
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x22) out += '\\"';
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (
      c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
    ) out += `\\u${c.toString(16)}`;
    else out += ch;
  }
  return `"${out}"`;
}
