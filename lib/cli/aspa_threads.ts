/**
 * `validate --aspa` on several threads. The input is cut into batches of whole lines; worker
 * threads, each with its own copy of the indexes, verify and render them, and the answers are
 * written in input order, so the output is byte for byte that of one thread. The first
 * `inlineBytes` of input, and every batch cut while no worker is ready yet, are answered on the
 * main thread: a small input never waits for a worker to start, nor pays for building its
 * indexes. A short read (the writer of the input has nothing more for now) sends what has
 * arrived at once, so a program feeding lines one by one still gets each answer.
 *
 * Each worker is this module itself (`new Worker(import.meta.url)`), which also holds in the
 * one-file bundle of the install: the worker side starts only inside a worker, on our message.
 */
import { VrpSet } from "../model/vrp_set.ts";
import { AspaIndex, type AspaIndexParts, type NeighbourRole, RovIndex } from "../rov/mod.ts";
import { type AspaFormat, AspaWriter, verifyLines } from "./aspa_writer.ts";
import type { ByteWriter } from "./io.ts";

/** What a worker needs to answer like the main thread. */
export interface AspaWork {
  /** The packed VRPs (`VrpSet.data`). */
  vrps: Uint32Array;
  /** The ASPA index's arrays (`AspaIndex.parts`). */
  aspa: AspaIndexParts;
  format: AspaFormat;
  role: NeighbourRole;
  neighbourAs: number;
}

/** How the input is shared out. */
export interface ThreadPlan {
  /** Worker threads; 1 or less: everything on the main thread. */
  threads: number;
  /** Input answered on the main thread before any worker starts. */
  inlineBytes: number;
  /** Input per batch (cut at the last newline past it). */
  batchBytes: number;
  /** Called when the first worker is ready to take batches. */
  onReady?: () => void;
}

/** How a run went. */
export interface InputResult {
  /** Lines that were not routes. */
  bad: number;
  /** Batches answered on the main thread and by workers. */
  inlineBatches: number;
  workerBatches: number;
}

/** A read shorter than this means the input's writer is idle: send what has arrived. */
const SHORT_READ = 16 << 10;

const INIT = "rtr-aspa-init", BATCH = "rtr-aspa-batch";

interface BatchResult {
  bytes: Uint8Array;
  warnings: string[];
  seen: AspaWriter["seen"];
  counts: Float64Array;
  bad: number;
}

interface Pending {
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

/** A worker thread and the batches it has not answered yet (it answers in order). */
class Helper {
  readonly worker: Worker;
  readonly waiting: Pending[] = [];
  ready = false;
  #failure: Error | null = null;

  constructor(work: AspaWork, onReady: () => void) {
    this.worker = new Worker(import.meta.url, { type: "module" });
    this.worker.onmessage = (ev: MessageEvent) => {
      const m = ev.data;
      if (m.kind === "ready") {
        this.ready = true;
        onReady();
      } else if (m.kind === "result") this.waiting.shift()?.resolve(m as BatchResult);
      else this.#fail(new Error(`validate worker: ${m.message}`));
    };
    this.worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#fail(new Error(`validate worker: ${ev.message}`));
    };
    this.worker.postMessage({ kind: INIT, work });
  }

  #fail(e: Error): void {
    this.#failure = e;
    for (const p of this.waiting.splice(0)) p.reject(e);
  }

  /** Send a batch (its buffer is transferred); the promise settles with the worker's answer. */
  submit(bytes: Uint8Array, firstLine: number, atStart: boolean): Promise<BatchResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    const answer = new Promise<BatchResult>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
    });
    this.worker.postMessage({ kind: BATCH, bytes, firstLine, atStart }, [
      bytes.buffer as ArrayBuffer,
    ]);
    return answer;
  }
}

/** Input bytes not yet cut into batches. */
class Carry {
  buf = new Uint8Array(1 << 20);
  len = 0;

  add(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + chunk.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  /** The whole lines held (a copy of its own), or null when no line is complete. */
  cutLines(): Uint8Array | null {
    const nl = this.len > 0 ? this.buf.lastIndexOf(10, this.len - 1) : -1;
    if (nl < 0) return null;
    const out = this.buf.slice(0, nl + 1);
    this.buf.copyWithin(0, nl + 1, this.len);
    this.len -= nl + 1;
    return out;
  }

  /** Everything held (the input's last line, without its newline). */
  cutAll(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}

/** Lines in a batch: its newlines, plus one for a last line without one. */
function lineCount(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] === 10) n++;
  return b.length > 0 && b[b.length - 1] !== 10 ? n + 1 : n;
}

async function writeAll(out: ByteWriter, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await out.write(b.subarray(off));
}

/**
 * Verify every line of `input` with `w` (which writes to `out`), on the main thread and on up to
 * `plan.threads` workers. `w` ends up with the `seen` and `counts` of every route.
 */
export async function verifyInput(
  input: ReadableStream<Uint8Array>,
  w: AspaWriter,
  out: ByteWriter,
  work: AspaWork,
  plan: ThreadPlan,
): Promise<InputResult> {
  const helpers: Helper[] = [];
  /**
   * Each batch sent is written as soon as it and every batch before it are answered: `tail`
   * chains the writes in input order; `unwritten` holds the last ones, to wait on when too many
   * are in flight.
   */
  let tail: Promise<void> = Promise.resolve();
  const unwritten: Promise<void>[] = [];
  let outstanding = 0;
  const carry = new Carry();
  let bad = 0, nextLine = 1, atStart = true, readBytes = 0, inline = 0, threaded = 0;
  let anyReady = false;
  const onReady = () => {
    if (!anyReady) plan.onReady?.();
    anyReady = true;
  };

  const writeResult = async (r: BatchResult): Promise<void> => {
    outstanding--;
    for (const line of r.warnings) w.warn(line);
    bad += r.bad;
    w.absorb(r.seen, r.counts);
    if (r.bytes.length > 0 && work.format === "text") {
      w.header();
      await w.flush();
    }
    await writeAll(out, r.bytes);
  };
  const send = async (batch: Uint8Array): Promise<void> => {
    const first = nextLine, start = atStart;
    nextLine += lineCount(batch);
    atStart = false;
    const ready = helpers.filter((h) => h.ready);
    if (outstanding === 0 && ready.length === 0) {
      // Nothing is in flight and no worker can take it yet: answer it here.
      bad += verifyLines(w, batch, first, start);
      inline++;
      await w.flush();
      return;
    }
    // The ready worker with the fewest batches in flight (all of them when none is ready yet).
    const pool = ready.length > 0 ? ready : helpers;
    let h = pool[0];
    for (const x of pool) if (x.waiting.length < h.waiting.length) h = x;
    const answer = h.submit(batch, first, start);
    threaded++;
    outstanding++;
    const written = tail.then(() => answer).then(writeResult);
    written.catch(() => {}); // awaited below or at the end; never an unhandled rejection
    tail = written;
    unwritten.push(written);
    while (unwritten.length > 2 * helpers.length) await unwritten.shift();
  };

  try {
    for await (const chunk of input) {
      readBytes += chunk.length;
      carry.add(chunk);
      if (plan.threads > 1 && helpers.length === 0 && readBytes > plan.inlineBytes) {
        for (let i = 0; i < plan.threads; i++) helpers.push(new Helper(work, onReady));
      }
      if (helpers.length > 0 && carry.len < plan.batchBytes && chunk.length >= SHORT_READ) {
        continue; // more is coming: make a full batch
      }
      const batch = carry.cutLines();
      if (batch !== null) await send(batch);
    }
    const last = carry.cutAll();
    if (last.length > 0) await send(last);
    await tail;
  } finally {
    for (const h of helpers) h.worker.terminate();
  }
  return { bad, inlineBatches: inline, workerBatches: threaded };
}

/** The worker side: answer batches with a writer of our own, as the main thread would. */
function serveAsWorker(scope: WorkerScope): void {
  let w: AspaWriter | null = null;
  const warnings: string[] = [];
  const none: ByteWriter = { write: (b) => Promise.resolve(b.length) };
  scope.onmessage = (ev: MessageEvent) => {
    const m = ev.data;
    try {
      if (m.kind === INIT) {
        const work = m.work as AspaWork;
        w = new AspaWriter(
          new RovIndex(new VrpSet(work.vrps)),
          new AspaIndex(work.aspa),
          {
            format: work.format,
            role: work.role,
            neighbourAs: work.neighbourAs,
            header: false,
            warn: (line) => warnings.push(line),
          },
          none,
        );
        scope.postMessage({ kind: "ready" });
      } else if (m.kind === BATCH && w !== null) {
        const bad = verifyLines(w, m.bytes, m.firstLine, m.atStart);
        const bytes = w.take();
        const r: BatchResult = {
          bytes,
          warnings: warnings.splice(0),
          seen: { ...w.seen },
          counts: w.counts.slice(),
          bad,
        };
        w.resetCounts();
        scope.postMessage({ kind: "result", ...r }, [bytes.buffer as ArrayBuffer]);
      }
    } catch (e) {
      scope.postMessage({ kind: "failed", message: e instanceof Error ? e.message : String(e) });
    }
  };
}

/** The part of a worker's global scope used here. */
interface WorkerScope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

if ("WorkerGlobalScope" in globalThis) serveAsWorker(globalThis as unknown as WorkerScope);
