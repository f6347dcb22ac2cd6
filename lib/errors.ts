/**
 * Error types for the whole program. Every thrown error is an RtrError subclass; protocol errors
 * carry the RFC 8210 / 8210bis error code and the offending bytes so that the session can send a
 * correct Error Report (8210bis §5.11, §12).
 */

/** Base class of every error `rtr` throws on purpose. */
export class RtrError extends Error {
  /** Process exit code this error maps to (README "Exit codes"). */
  exitCode = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command line: exit 2. */
export class UsageError extends RtrError {
  override exitCode = 2;
}

/** A PDU that cannot be decoded or violates the protocol; `errorCode` is the RFC error code. */
export class DecodeError extends RtrError {
  /** RFC error code to report to the peer. */
  readonly errorCode: number;
  /** The offending PDU (or its first bytes), to encapsulate in the Error Report. */
  readonly pdu?: Uint8Array;
  constructor(errorCode: number, message: string, pdu?: Uint8Array, options?: ErrorOptions) {
    super(message, options);
    this.errorCode = errorCode;
    this.pdu = pdu;
  }
}

/** The peer sent an Error Report: its code and text reach the user verbatim. */
export class PeerError extends RtrError {
  /** Error code from the peer's Error Report. */
  readonly code: number;
  /** Arbitrary text from the peer's Error Report (may be empty). */
  readonly text: string;
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

/** One line for stderr describing any error, with no stack trace. */
export function describeError(e: unknown): string {
  if (e instanceof RtrError) return e.message;
  if (e instanceof Deno.errors.NotFound) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
