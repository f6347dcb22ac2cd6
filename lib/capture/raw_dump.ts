/**
 * The old client's raw dump format: the bytes received from the cache, concatenated (RFC 8210
 * §5 PDUs back to back), written through the one atomic file writer (lib/io/atomic_file.ts).
 */
import { AtomicFile } from "../io/mod.ts";
import type { WireTap } from "../transport.ts";

/** The old client's raw dump: received bytes only, concatenated, written atomically at finish. */
export class RawDumpTap implements WireTap {
  #file: AtomicFile;
  private constructor(file: AtomicFile) {
    this.#file = file;
  }

  /** Create the tap; with `append`, bytes are added to an existing FILE directly (follow). */
  static async create(path: string, append = false): Promise<RawDumpTap> {
    return new RawDumpTap(await AtomicFile.create(path, { append }));
  }

  received(bytes: Uint8Array): void {
    this.#file.writeSync(bytes);
  }

  /** Put the dump in place (rename) or close the appended file. */
  async finish(): Promise<void> {
    await this.#file.commit();
  }
}
