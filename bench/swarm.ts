/**
 * Many RTR routers in one process, for the fan-out and soak benchmarks (not a test): each
 * honest router sends a Reset Query, walks the PDU headers of the answer (touching each prefix
 * PDU's header and flags only) to keep a count of the records it holds, and answers Serial
 * Notify with a Serial Query (RFC 8210 §6.2, §8.2). A hashing router also reads each prefix
 * PDU's fields (RFC 8210 §5.6, §5.7) into an order-free checksum of the records it holds, to
 * compare with `tableHash` of the table served. Hostile ones connect and then misbehave.
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
  /** Set when the cache sent an Error Report, closed the connection, or it failed. */
  error = "";
  closed = false;
  /** From the connect call to connected, and to its Reset Query written, ms (-1 before). */
  connectMs = -1;
  queryMs = -1;
  /** The longest wait for a read before the first End of Data, ms. */
  maxGapMs = 0;
  /** The local port of its connection (0 before it connects), to find it in a cache's log. */
  localPort = 0;
  /** Hashing routers: the sum of `prefixHash` over the records held, mod 2^32. */
  sum = 0;
  readonly hashing: boolean;
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

  /** A router speaking `version`; with `hash`, it also keeps `sum` (see `prefixHash`). */
  constructor(version: number, hash = false) {
    this.version = version;
    this.hashing = hash;
  }

  /** Connect, send a Reset Query, and read until closed (resolves then). */
  async run(port: number, bufSize = 64 * 1024): Promise<void> {
    try {
      const t = performance.now();
      this.#conn = await Deno.connect({ hostname: "127.0.0.1", port });
      this.localPort = this.#conn.localAddr.port;
      this.connectMs = performance.now() - t;
      await this.#send(new Uint8Array([this.version, 2, 0, 0, 0, 0, 0, 8]));
      this.queryMs = performance.now() - t;
      const buf = new Uint8Array(bufSize);
      let last = performance.now();
      while (true) {
        const n = await this.#conn.read(buf);
        const now = performance.now();
        if (now - last > this.maxGapMs && this.eodAt.length === 0) this.maxGapMs = now - last;
        last = now;
        if (n === null) {
          if (!this.closed) this.error ||= "connection closed by the cache";
          break;
        }
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
      // Fast path: a whole prefix PDU header in this read (a hashing router: the whole PDU).
      if (this.#hfill === 0 && i + 9 <= n && (buf[i + 1] === 4 || buf[i + 1] === 6)) {
        const len = ((buf[i + 4] << 24) | (buf[i + 5] << 16) | (buf[i + 6] << 8) | buf[i + 7]) >>>
          0;
        if (!this.hashing) {
          this.held += (buf[i + 8] & 1) === 1 ? 1 : -1;
          this.#skip = len - 8;
          this.#collect = false;
          i += 8;
          continue;
        }
        if (i + len <= n && len >= 20) {
          this.#prefix(buf, i, len);
          i += len;
          continue;
        }
      }
      while (this.#hfill < 8 && i < n) this.#hdr[this.#hfill++] = buf[i++];
      if (this.#hfill < 8) break;
      this.#hfill = 0;
      const h = this.#hdr;
      this.#type = h[1];
      this.#len = ((h[4] << 24) | (h[5] << 16) | (h[6] << 8) | h[7]) >>> 0;
      this.#skip = this.#len - 8;
      if ((this.#type === 4 || this.#type === 6) && !this.hashing) {
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

  /** A prefix PDU of `len` bytes at `b[o]`, for a hashing router: count and checksum. */
  #prefix(b: Uint8Array, o: number, len: number): void {
    const v6 = len >= 32 ? 1 : 0;
    const meta = (v6 << 16) | (b[o + 9] << 8) | b[o + 10];
    const h = v6
      ? prefixHash(
        meta,
        be32(b, o + 12),
        be32(b, o + 16),
        be32(b, o + 20),
        be32(b, o + 24),
        be32(b, o + 28),
      )
      : prefixHash(meta, be32(b, o + 12), 0, 0, 0, be32(b, o + 16));
    if ((b[o + 8] & 1) === 1) {
      this.held++;
      this.sum = (this.sum + h) >>> 0;
    } else {
      this.held--;
      this.sum = (this.sum - h) >>> 0;
    }
  }

  /** A PDU (a hashing router's prefix PDU, or any other), its first 64 bytes in #small. */
  #pdu(): void {
    const s = this.#small, t = this.#type;
    this.#collect = false;
    const u32 = (o: number) => ((s[o] << 24) | (s[o + 1] << 16) | (s[o + 2] << 8) | s[o + 3]) >>> 0;
    if (t === 4 || t === 6) {
      if (this.#len >= 20 && this.#len <= 64) this.#prefix(s, 0, this.#len);
    } else if (t === 3) {
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
      this.sum = 0;
      this.#send(new Uint8Array([this.version, 2, 0, 0, 0, 0, 0, 8])).catch(() => {});
    } else if (t === 10) {
      const code = (s[2] << 8) | s[3];
      this.error = `Error Report code ${code}`;
    }
  }
}

/** The big-endian u32 at `b[k]`. */
function be32(b: Uint8Array, k: number): number {
  return ((b[k] << 24) | (b[k + 1] << 16) | (b[k + 2] << 8) | b[k + 3]) >>> 0;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * A 32-bit hash of one VRP (MurmurHash3's mixing) from the words of a packed VrpSet record:
 * `meta` (v6 << 16 | prefix length << 8 | max length), the address words (IPv4: `a0`, the rest
 * 0) and the ASN. A table's checksum is the sum of its records' hashes mod 2^32, so it follows
 * announcements and withdrawals in any order.
 */
export function prefixHash(
  meta: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  asn: number,
): number {
  let h = mix(mix(mix(mix(mix(mix(0x9747b28c, meta), a0), a1), a2), a3), asn) ^ 24;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The checksum a hashing SwarmRouter holds for `d`, a packed VrpSet's words (6 per record). */
export function tableHash(d: Uint32Array, size: number): number {
  let sum = 0;
  for (let x = 0; x < size * 6; x += 6) {
    sum = (sum + prefixHash(d[x], d[x + 1], d[x + 2], d[x + 3], d[x + 4], d[x + 5])) >>> 0;
  }
  return sum;
}

/** Kinds of hostile client. */
export type HostileKind = "idle" | "slowloris" | "garbage" | "never-reading";

/** What the hostile clients of one kind saw. */
export interface HostileStats {
  /** Connections opened. */
  connects: number;
  /** Connects that failed. */
  refused: number;
  /** Connections the cache closed (or reset) before the client's end. */
  closed: number;
  /** Total time connections stayed open, ms. */
  heldMs: number;
}

/**
 * A hostile client until `until` (performance.now() ms): reconnects `pause` ms after the cache
 * closes it, and counts its connections. idle: connects and sends nothing; slowloris: a byte of
 * a Reset Query every `drip` ms; garbage: random bytes; never-reading: Reset Queries (64 at
 * once, then one every `drip` ms, so a write fails once the cache has closed), never a read.
 */
export async function hostile(
  kind: HostileKind,
  port: number,
  until: number,
  stats: HostileStats,
  drip = 2000,
  pause = 100,
): Promise<void> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  while (performance.now() < until) {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      stats.refused++;
      await sleep(Math.max(pause, 500));
      continue;
    }
    stats.connects++;
    const opened = performance.now();
    let open = true;
    let wake = () => {};
    const gone = (async () => {
      if (kind === "never-reading") return await new Promise<void>((r) => wake = r);
      const b = new Uint8Array(4096);
      try {
        while ((await conn.read(b)) !== null) { /* drop */ }
      } catch { /* reset */ }
    })().then(() => {
      open = false;
    });
    /** Wait `ms` (at most until the end), or less if the cache closes first. */
    const nap = async (ms: number) => {
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        gone,
        new Promise((r) => t = setTimeout(r, Math.max(0, Math.min(ms, until - performance.now())))),
      ]);
      clearTimeout(t);
    };
    try {
      if (kind === "never-reading") {
        const q = new Uint8Array(8 * 64);
        for (let i = 0; i < 64; i++) q.set([1, 2, 0, 0, 0, 0, 0, 8], i * 8);
        await conn.write(q);
        while (performance.now() < until) {
          await nap(drip);
          await conn.write(q.subarray(0, 8));
        }
      } else if (kind === "idle") {
        while (open && performance.now() < until) await nap(until - performance.now());
      } else if (kind === "slowloris") {
        const q = [1, 2, 0, 0, 0, 0, 0];
        for (let i = 0; open && performance.now() < until; i = (i + 1) % q.length) {
          await conn.write(new Uint8Array([q[i]]));
          await nap(drip);
        }
      } else {
        const junk = new Uint8Array(512);
        while (open && performance.now() < until) {
          crypto.getRandomValues(junk);
          junk[0] = 9; // no known version: an Error Report and a close
          await conn.write(junk);
          await nap(200);
        }
      }
    } catch {
      open = false; // closed or reset by the cache
    }
    if (!open && performance.now() < until) stats.closed++;
    stats.heldMs += performance.now() - opened;
    wake();
    try {
      conn.close();
    } catch { /* closed */ }
    await sleep(pause);
  }
}

/** A server process under measurement. */
export interface ServerProcess {
  pid: number;
  port: number;
  log(): string;
  stop(): Promise<number>;
}

/**
 * Start a server; resolves when `ready` matches its output and its port accepts. `onLine`, if
 * given, sees every whole line of its output (the kept log is only the last few MB).
 */
export async function spawnServer(
  cmd: string[],
  ready: RegExp,
  port: number,
  timeoutMs = 300_000,
  onLine?: (line: string) => void,
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
      const d = new TextDecoder();
      let rest = "";
      for await (const c of s) {
        const text = d.decode(c, { stream: true });
        log += text;
        if (log.length > 4_000_000) log = log.slice(-2_000_000);
        if (onLine) {
          const lines = (rest + text).split("\n");
          rest = lines.pop()!;
          for (const l of lines) onLine(l);
        }
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
 * Write `to`: the table of `from` with `change / 2` ROAs dropped (the first ones; with `round`
 * k, those after the first k × change / 2) and as many new ones added (different ones in each
 * round), written then renamed; the tables of two rounds differ by about 2 × `change` records.
 * Returns its ROA count.
 */
export async function writeChanged(
  from: string,
  to: string,
  change: number,
  round = 0,
): Promise<number> {
  const t = JSON.parse(await Deno.readTextFile(from));
  const half = Math.floor(change / 2);
  t.roas.splice(round * half, half);
  for (let j = 0; j < half; j++) {
    const i = round * half + j;
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
