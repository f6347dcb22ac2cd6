/**
 * Feeds one decoded batch (lib/wire/decode_stream.ts) to a ClientSession in order: whole Prefix
 * PDUs go through the staging fast path straight from the chunk's bytes (8210bis §5.6–§5.7),
 * everything else through `receive`. The events that need the driver come out in order; a
 * fatal one ends the batch.
 */
import { DecodeError } from "../errors.ts";
import { type BatchVisitor, type PduBatch, walkBatch } from "../wire/decode_stream.ts";
import type { ClientSession, SessionEvent } from "./client_session.ts";

/** Feed `b` to `session`, appending every event that is not `none` to `out`; true after a fatal one. */
export function receiveBatch(session: ClientSession, b: PduBatch, out: SessionEvent[]): boolean {
  const visitor: BatchVisitor = {
    prefix: (bytes, view, off) => session.stagePrefixBytes(bytes, view, off),
    pdu: (pdu, raw) => {
      const ev = session.receive(pdu, raw);
      if (ev.kind === "none") return true;
      out.push(ev);
      return ev.kind !== "fatal";
    },
  };
  try {
    if (!walkBatch(b, visitor)) return true;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    out.push(session.decodeFailed(e));
    return true;
  }
  if (b.error) {
    out.push(session.decodeFailed(b.error));
    return true;
  }
  return false;
}
