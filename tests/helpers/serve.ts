/**
 * Test helpers for `rtr serve`: start it as a subprocess on a free port (it prints the bound
 * address), follow its stderr, stop it with a signal; and a minimal raw RTR client that sends
 * bytes and collects the decoded PDUs of one response. Every wait is bounded.
 */
import { type Pdu, PduFramer } from "../../lib/wire/mod.ts";
import { MAIN, stopChild } from "./peers.ts";

/** A running `rtr serve`. */
export interface ServeProcess {
  port: number;
  child: Deno.ChildProcess;
  /** stderr so far. */
  log(): string;
  /** Wait until stderr matches `re` (bounded); returns the match. */
  waitLog(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Send `signal` (default SIGTERM) and return the exit code (SIGKILL after a bound). */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Start `rtr serve FILE --listen 127.0.0.1:0 ARGS`; resolves once it listens. */
export async function startServe(file: string, args: string[] = []): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--quiet",
      MAIN,
      "serve",
      file,
      "--listen",
      "127.0.0.1:0",
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters = new Set<() => void>();
  (async () => {
    const dec = new TextDecoder();
    try {
      for await (const c of child.stderr) {
        text += dec.decode(c);
        for (const w of waiters) w();
      }
    } catch { /* closed */ }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    for (const w of waiters) w();
    return s;
  });
  const waitLog = (re: RegExp, timeoutMs = 15000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = text.match(re);
        if (m) {
          done();
          resolve(m);
        } else if (exited) {
          done();
          reject(new Error(`rtr serve exited before ${re}:\n${text}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${re} on rtr serve's stderr after ${timeoutMs} ms:\n${text}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  let port: number;
  try {
    port = Number((await waitLog(/listening on 127\.0\.0\.1:(\d+)/, 30000))[1]);
  } catch (e) {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await status;
    throw e;
  }
  return {
    port,
    child,
    log: () => text,
    waitLog,
    stop: async (signal: Deno.Signal = "SIGTERM") => {
      await stopChild(child, signal);
      return (await status).code;
    },
  };
}

/** A raw RTR connection for tests: send bytes, read PDUs. */
export class RawRtr {
  readonly conn: Deno.TcpConn;
  readonly #framer = new PduFramer();
  readonly #pdus: Pdu[] = [];
  #eof = false;
  #buf = new Uint8Array(1 << 16);
  #pending: Promise<number | null> | null = null;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connect to 127.0.0.1:port. */
  static async connect(port: number): Promise<RawRtr> {
    return new RawRtr(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Write bytes. */
  async send(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /**
   * Read until a PDU satisfies `stop` (default: End of Data, Cache Reset or Error Report) or
   * the server closes; returns every PDU read up to and including it.
   */
  async read(
    stop: (p: Pdu) => boolean = (p) => p.type === 7 || p.type === 8 || p.type === 10,
    timeoutMs = 15000,
  ): Promise<{ pdus: Pdu[]; closed: boolean }> {
    const deadline = Date.now() + timeoutMs;
    const out: Pdu[] = [];
    while (true) {
      while (this.#pdus.length > 0) {
        const p = this.#pdus.shift()!;
        out.push(p);
        if (stop(p)) return { pdus: out, closed: false };
      }
      if (this.#eof) return { pdus: out, closed: true };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms (${out.length} PDUs)`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      // One read in flight at a time, kept across calls when a wait times out.
      this.#pending ??= this.conn.read(this.#buf).catch(() => null);
      const n = await Promise.race([
        this.#pending,
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
      ]);
      clearTimeout(timer);
      if (n === "timeout") continue;
      this.#pending = null;
      if (n === null) {
        this.#eof = true;
        continue;
      }
      this.#framer.push(this.#buf.subarray(0, n), (p) => this.#pdus.push(p));
    }
  }

  /** Wait for the server to close (bounded); true when it did. */
  async closed(timeoutMs = 5000): Promise<boolean> {
    try {
      const r = await this.read(() => false, timeoutMs);
      return r.closed;
    } catch {
      return false;
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
