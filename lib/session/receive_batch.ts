/**
 * Feeds one decoded batch (lib/wire/decode_stream.ts) to a ClientSession in order: whole Prefix
 * PDUs go through the staging fast path straight from the chunk's bytes (8210bis §5.6–§5.7),
 * everything else through `receive`. The events that need the driver come out in order; a
 * fatal one ends the batch.
 */
import { DecodeError } from "../errors.ts";
import { batchPdu, batchRaw, type PduBatch } from "../wire/decode_stream.ts";
import type { ClientSession, SessionEvent } from "./client_session.ts";

/** Feed `b` to `session`, appending every event that is not `none` to `out`; true after a fatal one. */
export function receiveBatch(session: ClientSession, b: PduBatch, out: SessionEvent[]): boolean {
  const { pdus, offsets, bytes, view } = b;
  let cur = 0;
  const raw = () => batchRaw(b, cur);
  for (let i = 0; i < pdus.length; i++) {
    let pdu = pdus[i];
    if (pdu === null) {
      if (session.stagePrefixBytes(bytes, view, offsets[i])) continue;
      try {
        pdu = batchPdu(b, i);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        out.push(session.decodeFailed(e));
        return true;
      }
    }
    cur = i;
    const ev = session.receive(pdu, raw);
    if (ev.kind !== "none") {
      out.push(ev);
      if (ev.kind === "fatal") return true;
    }
  }
  if (b.error) {
    out.push(session.decodeFailed(b.error));
    return true;
  }
  return false;
}
