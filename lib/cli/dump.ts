/**
 * `--dump FILE` for snapshot and follow: the old client's raw dump (received bytes only) or, for
 * a name ending in `.pcap`, both directions as a pcap file with synthetic IP/TCP headers
 * (lib/capture/pcap_writer.ts) that tshark decodes as RPKI-RTR and `rtr replay` reads back.
 */
import { PcapWriter } from "../capture/pcap_writer.ts";
import { RtrError } from "../errors.ts";
import type { WireTap } from "../transport.ts";
import { AtomicFile, fileErrorText } from "../io/mod.ts";
import { RawDumpTap } from "../capture/raw_dump.ts";

/**
 * Create the tap for `--dump FILE` (`-` is stdout); `append` keeps adding to FILE (follow). The
 * file is opened at once, so a bad path fails before any network work.
 */
export async function createDumpTap(path: string, append = false): Promise<WireTap> {
  try {
    if (path.toLowerCase().endsWith(".pcap")) return await PcapDumpTap.create(path, append);
    return await RawDumpTap.create(path, append);
  } catch (e) {
    throw new RtrError(`Cannot write --dump file ${path}: ${dumpErrorText(e)}`);
  }
}

function dumpErrorText(e: unknown): string {
  if (e instanceof RtrError) return e.message.replace(/^Cannot write .*?: /, "");
  return fileErrorText(e);
}

/** Both directions as pcap; written to a temporary name and renamed at `finish` (or appended). */
class PcapDumpTap implements WireTap {
  #file: AtomicFile;
  #writer: PcapWriter;

  private constructor(file: AtomicFile, skipHeader: boolean) {
    this.#file = file;
    let skip = skipHeader ? 24 : 0;
    this.#writer = new PcapWriter((b) => {
      let chunk = b;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      file.writeSync(chunk);
    });
  }

  static async create(path: string, append: boolean): Promise<PcapDumpTap> {
    let skip = false;
    if (append) {
      // An existing capture already has its file header: add packets only.
      try {
        skip = (await Deno.stat(path)).size >= 24;
      } catch { /* new file, or a stream */ }
    }
    return new PcapDumpTap(await AtomicFile.create(path, { append }), skip);
  }

  connected(local: Deno.NetAddr, remote: Deno.NetAddr, time: number): void {
    this.#writer.connected(local, remote, time);
  }
  received(bytes: Uint8Array, time: number): void {
    this.#writer.received(bytes, time);
  }
  sent(bytes: Uint8Array, time: number): void {
    this.#writer.sent(bytes, time);
  }
  closed(time: number): void {
    this.#writer.closed(time);
  }

  async finish(): Promise<void> {
    await this.#file.commit();
  }
}
