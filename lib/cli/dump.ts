/**
 * `--dump FILE` for snapshot and follow: the old client's raw dump (received bytes) or, for a
 * name ending in `.pcap`, both directions as a pcap file (lib/capture).
 */
import { RawDumpTap, type WireTap } from "../transport.ts";
import { UsageError } from "../errors.ts";

/** Create the tap for `--dump FILE`; `append` keeps adding to FILE (follow). */
export async function createDumpTap(path: string, append = false): Promise<WireTap> {
  try {
    return await RawDumpTap.create(path, append);
  } catch (e) {
    throw new UsageError(`Cannot write --dump file ${path}: ${e instanceof Error ? e.message : e}`);
  }
}
