/** The old client's raw dump format: the bytes received from the cache, concatenated. */
import type { WireTap } from "../transport.ts";

/** The old client's raw dump: received bytes only, concatenated, written atomically at finish. */
export class RawDumpTap implements WireTap {
  #file: Deno.FsFile;
  #tmp: string;
  #path: string;
  #done = false;
  private constructor(path: string, tmp: string, file: Deno.FsFile) {
    this.#path = path;
    this.#tmp = tmp;
    this.#file = file;
  }

  /** Create the tap; with `append`, bytes are added to an existing FILE directly (follow). */
  static async create(path: string, append = false): Promise<RawDumpTap> {
    if (append) {
      const f = await Deno.open(path, { append: true, create: true });
      const t = new RawDumpTap(path, path, f);
      return t;
    }
    const slash = path.lastIndexOf("/");
    const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${Deno.pid}.tmp`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
    return new RawDumpTap(path, tmp, f);
  }

  received(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
  }

  async finish(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#file.close();
    if (this.#tmp !== this.#path) await Deno.rename(this.#tmp, this.#path);
  }
}
