/**
 * `--dump FILE` for snapshot and follow: the old client's raw dump (received bytes only) or, for
 * a name ending in `.pcap`, both directions as a pcap file with synthetic IP/TCP headers
 * (lib/capture/pcap_writer.ts) that tshark decodes as RPKI-RTR and `rtr replay` reads back.
 */
import { PcapWriter } from "../capture/pcap_writer.ts";
import { RtrError } from "../errors.ts";
import { errText, type WireTap } from "../transport.ts";
import { RawDumpTap } from "../capture/raw_dump.ts";

/** Create the tap for `--dump FILE`; `append` keeps adding to FILE (follow). */
export async function createDumpTap(path: string, append = false): Promise<WireTap> {
  try {
    if (path.toLowerCase().endsWith(".pcap")) return await PcapDumpTap.create(path, append);
    return await RawDumpTap.create(path, append);
  } catch (e) {
    throw new RtrError(`Cannot write --dump file ${path}: ${errText(e)}`);
  }
}

/** Both directions as pcap; written to a temporary name and renamed at `finish` (or appended). */
class PcapDumpTap implements WireTap {
  #file: Deno.FsFile;
  #tmp: string;
  #path: string;
  #writer: PcapWriter;
  #done = false;

  private constructor(path: string, tmp: string, file: Deno.FsFile, skipHeader: boolean) {
    this.#path = path;
    this.#tmp = tmp;
    this.#file = file;
    let skip = skipHeader ? 24 : 0;
    this.#writer = new PcapWriter((b) => {
      let chunk = b;
      if (skip > 0) {
        const n = Math.min(skip, chunk.length);
        skip -= n;
        chunk = chunk.subarray(n);
      }
      let off = 0;
      while (off < chunk.length) off += file.writeSync(chunk.subarray(off));
    });
  }

  static async create(path: string, append: boolean): Promise<PcapDumpTap> {
    if (append) {
      let size = 0;
      try {
        size = (await Deno.stat(path)).size;
      } catch { /* new file */ }
      const f = await Deno.open(path, { append: true, create: true });
      // An existing capture already has its file header: add packets only.
      return new PcapDumpTap(path, path, f, size >= 24);
    }
    const slash = path.lastIndexOf("/");
    const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${Deno.pid}.tmp`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    return new PcapDumpTap(path, tmp, f, false);
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
    if (this.#done) return;
    this.#done = true;
    this.#file.close();
    if (this.#tmp !== this.#path) await Deno.rename(this.#tmp, this.#path);
  }
}
