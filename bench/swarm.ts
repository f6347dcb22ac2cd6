/**
 * Many RTR routers in one process, for the fan-out and soak benchmarks (not a test): each
 * honest router sends a Reset Query, walks the PDU headers of the answer (touching each prefix
 * PDU's header and flags only) to keep a count of the records it holds, and answers Serial
 * Notify with a Serial Query (RFC 8210 §6.2, §8.2). Hostile ones connect and then misbehave.
 * Also: starting `rtr serve` or StayRTR on a table, following a process's resident memory, and
 * writing a changed table. Every wait is bounded.
 */

const dec = new TextDecoder();

/** An honest router: its state after each response, for the bench to check. */
export class SwarmRouter {
  readonly version: number;
  /** Records held (prefix PDUs announced minus withdrawn). */
  held = 0;
  /** Bytes received. */
  bytes = 0;
  sessionId = -1;
  /** Serial of the last End of Data (−1 before the first). */
  serial = -1;
  /** performance.now() of each End of Data, in order. */
  readonly eodAt: number[] = [];
  /** performance.now() of each Serial Notify, in order. */
  readonly notifyAt: number[] = [];
  /** Set when the cache sent an Error Report or the connection failed. */
  error = "";
  closed = false;
  #conn: Deno.TcpConn | null = null;
  // PDU walker state, across reads.
  #hdr = new Uint8Array(8);
  #hfill = 0;
  #skip = 0;
  #flagNext = false;
  #small = new Uint8Array(64);
  #sfill = 0;
  #collect = false;
  #type = 0;
  #len = 0;

  constructor(version: number) {
    this.version = version;
  }

  /** Connect, send a Reset Query, and read until closed (resolves then). */
  async run(port: number, bufSize = 64 * 1024): Promise<void> {
    try {
      this.#conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await this.#send(new Uint8Array([this.version, 2, 0, 0, 0, 0, 0, 8]));
      const buf = new Uint8Array(bufSize);
      while (true) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        this.bytes += n;
        this.#walk(buf, n);
      }
    } catch (e) {
      if (!this.closed) this.error ||= e instanceof Error ? e.message.split("\n")[0] : String(e);
    } finally {
      this.close();
    }
  }

  close(): void {
    this.closed = true;
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    this.#conn = null;
  }

  async #send(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length && this.#conn) off += await this.#conn.write(b.subarray(off));
  }

  #walk(buf: Uint8Array, n: number): void {
    let i = 0;
    while (i < n) {
      if (this.#flagNext) {
        this.held += (buf[i] & 1) === 1 ? 1 : -1;
        this.#flagNext = false;
      }
      if (this.#skip > 0) {
        const k = Math.min(this.#skip, n - i);
        if (this.#collect) {
          this.#small.set(
            buf.subarray(i, i + Math.min(k, this.#small.length - this.#sfill)),
            this.#sfill,
          );
          this.#sfill = Math.min(this.#sfill + k, this.#small.length);
        }
        this.#skip -= k;
        i += k;
        if (this.#skip === 0 && this.#collect) this.#pdu();
        continue;
      }
      // Fast path: a whole prefix PDU header in this read.
      if (this.#hfill === 0 && i + 9 <= n && (buf[i + 1] === 4 || buf[i + 1] === 6)) {
        const len = ((buf[i + 4] << 24) | (buf[i + 5] << 16) | (buf[i + 6] << 8) | buf[i + 7]) >>>
          0;
        this.held += (buf[i + 8] & 1) === 1 ? 1 : -1;
        this.#skip = len - 8;
        this.#collect = false;
        i += 8;
        continue;
      }
      while (this.#hfill < 8 && i < n) this.#hdr[this.#hfill++] = buf[i++];
      if (this.#hfill < 8) break;
      this.#hfill = 0;
      const h = this.#hdr;
      this.#type = h[1];
      this.#len = ((h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7]) >>> 0;
      this.#skip = this.#len - 8;
      if (this.#type === 4 || this.#type === 6) {
        this.#collect = false;
        if (i < n) {
          this.held += (buf[i] & 1) === 1 ? 1 : -1;
        } else this.#flagNext = true;
      } else {
        this.#collect = true;
        this.#small.set(h, 0);
        this.#sfill = 8;
        if (this.#skip === 0) this.#pdu();
      }
    }
  }

  /** A non-prefix PDU, its first 64 bytes in #small. */
  #pdu(): void {
    const s = this.#small, t = this.#type;
    this.#collect = false;
    const u32 = (o: number) => ((s[o] << 24) | (s[o + 1] << 16) | (s[o + 2] << 8) | s[o + 3]) >>> 0;
    if (t === 3) {
      this.sessionId = (s[2] << 8) | s[3];
    } else if (t === 7) {
      this.serial = u32(8);
      this.eodAt.push(performance.now());
    } else if (t === 0) {
      // Serial Notify: ask for what changed since the serial held.
      this.notifyAt.push(performance.now());
      const q = new Uint8Array(12);
      q.set([this.version, 1, this.sessionId >> 8, this.sessionId & 255, 0, 0, 0, 12]);
      new DataView(q.buffer).setUint32(8, this.serial);
      this.#send(q).catch(() => {});
    } else if (t === 8) {
      this.held = 0;
      this.#send(new Uint8Array([this.version, 2, 0, 0, 0, 0, 0, 8])).catch(() => {});
    } else if (t === 10) {
      const code = (s[2] << 8) | s[3];
      this.error = `Error Report code ${code}`;
    }
  }
}

/** Kinds of hostile client. */
export type HostileKind = "idle" | "slowloris" | "garbage" | "never-reading";

/**
 * A hostile client until `until` (performance.now() ms): reconnects whenever the cache closes
 * it, and counts its connections. idle: connects and sends nothing; slowloris: a byte of a Reset
 * Query every `drip` ms; garbage: random bytes; never-reading: Reset Queries, never a read.
 */
export async function hostile(
  kind: HostileKind,
  port: number,
  until: number,
  stats: { connects: number; refused: number },
  drip = 2000,
): Promise<void> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  while (performance.now() < until) {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      stats.refused++;
      await sleep(500);
      continue;
    }
    stats.connects++;
    const gone = (async () => {
      const b = new Uint8Array(kind === "never-reading" ? 1 : 4096);
      if (kind === "never-reading") return await new Promise<void>(() => {});
      try {
        while ((await conn.read(b)) !== null) { /* drop */ }
      } catch { /* reset */ }
    })();
    let open = true;
    gone.then(() => open = false);
    try {
      if (kind === "never-reading") {
        const q = new Uint8Array(8 * 64);
        for (let i = 0; i < 64; i++) q.set([1, 2, 0, 0, 0, 0, 0, 8], i * 8);
        await conn.write(q);
        await Promise.race([gone, sleep(Math.max(0, until - performance.now()))]);
      } else if (kind === "idle") {
        await Promise.race([gone, sleep(Math.max(0, until - performance.now()))]);
      } else if (kind === "slowloris") {
        const q = [1, 2, 0, 0, 0, 0, 0];
        for (let i = 0; open && performance.now() < until; i = (i + 1) % q.length) {
          await conn.write(new Uint8Array([q[i]]));
          await Promise.race([gone, sleep(drip)]);
        }
      } else {
        const junk = new Uint8Array(512);
        while (open && performance.now() < until) {
          crypto.getRandomValues(junk);
          junk[0] = 9; // no known version: an Error Report and a close
          await conn.write(junk);
          await Promise.race([gone, sleep(200)]);
        }
      }
    } catch { /* closed by the cache */ }
    try {
      conn.close();
    } catch { /* closed */ }
    await sleep(100);
  }
}

/** A server process under measurement. */
export interface ServerProcess {
  pid: number;
  port: number;
  log(): string;
  stop(): Promise<number>;
}

/** Start a server; resolves when `ready` matches its output and its port accepts. */
export async function spawnServer(
  cmd: string[],
  ready: RegExp,
  port: number,
  timeoutMs = 300_000,
): Promise<ServerProcess> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  for (const s of [child.stdout, child.stderr]) {
    (async () => {
      for await (const c of s) {
        log += dec.decode(c);
        if (log.length > 4_000_000) log = log.slice(-2_000_000);
      }
    })();
  }
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const end = Date.now() + timeoutMs;
  while (!ready.test(log)) {
    if (exited || Date.now() > end) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      throw new Error(`${cmd[0]} did not start: ${log.slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const p = port || Number(ready.exec(log)?.[1]);
  for (let i = 0; i < 600; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: p })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid,
    port: p,
    log: () => log,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      const s = await status;
      clearTimeout(t);
      return s.code;
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/** A /proc/PID/status field in kB (NaN when unreadable). */
export function procKb(pid: number, field: string): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(s);
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
export function procCpuS(pid: number): number {
  try {
    const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Follows a process's resident memory every `ms`; `peakMB` is the largest seen. */
export function watchRss(pid: number, ms = 50): { peakMB: () => number; stop: () => void } {
  let peak = 0;
  const t = setInterval(() => {
    const kb = procKb(pid, "VmRSS");
    if (kb > peak) peak = kb;
  }, ms);
  return { peakMB: () => peak / 1024, stop: () => clearInterval(t) };
}

/** Wait (bounded) until `pred` holds, polling every 20 ms; false on timeout. */
export async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Run `n` tasks with at most `k` starting at once (connects in waves, not a SYN flood). */
export async function inWaves<T>(n: number, k: number, start: (i: number) => T): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += k) {
    for (let j = i; j < Math.min(n, i + k); j++) out.push(start(j));
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}

/** The table file of the e2e bench (generated with the shared gen_vrps.py when missing). */
export async function tableFile(
  root: string,
  shared: string,
  count: number,
  aspa = 2000,
  seed = 42,
): Promise<string> {
  const out = `${root}bench/out`;
  Deno.mkdirSync(out, { recursive: true });
  const file = `${out}/vrps_${count}_a${aspa}_s${seed}.json`;
  try {
    Deno.statSync(file);
    return file;
  } catch { /* generate */ }
  const r = await new Deno.Command("python3", {
    args: [
      `${shared}bench/gen_vrps.py`,
      "--count",
      `${count}`,
      "--aspa",
      `${aspa}`,
      "--seed",
      `${seed}`,
      "-o",
      `${file}.tmp`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`gen_vrps.py failed: ${dec.decode(r.stderr)}`);
  Deno.renameSync(`${file}.tmp`, file);
  return file;
}

/**
 * Write `to`: the table of `from` with its first `change / 2` ROAs dropped and as many new
 * ones added (a change of `change` records), written then renamed. Returns its VRP count.
 */
export async function writeChanged(from: string, to: string, change: number): Promise<number> {
  const t = JSON.parse(await Deno.readTextFile(from));
  const half = Math.floor(change / 2);
  t.roas.splice(0, half);
  for (let i = 0; i < half; i++) {
    t.roas.push({
      prefix: `100.${64 + ((i >> 8) & 63)}.${i & 255}.0/24`,
      maxLength: 24,
      asn: 4_200_000_000 + i,
      ta: "bench",
    });
  }
  await Deno.writeTextFile(`${to}.tmp`, JSON.stringify(t));
  await Deno.rename(`${to}.tmp`, to);
  return t.roas.length;
}

/** Root of the repository and the shared bench tools beside it. */
export function locations(): { root: string; shared: string } {
  const root = new URL("../", import.meta.url).pathname;
  const exists = (p: string) => {
    try {
      Deno.statSync(p);
      return true;
    } catch {
      return false;
    }
  };
  const shared = Deno.env.get("RTR_SHARED") ??
    [`${root}../shared/`, `${root}../../shared/`].find((p) => exists(`${p}bench/gen_vrps.py`)) ??
    `${root}../shared/`;
  return { root, shared };
}
