/** TCP reassembly of one direction: order, retransmission, overlap, gaps, wrap-around. */
import { assertEquals as eq } from "../helpers/assert.ts";
import { Prng } from "../helpers/prng.ts";
import { TcpReassembler } from "../../lib/capture/mod.ts";

type Ev = ["data", number, string] | ["gap", number, number];

function collector(opts?: ConstructorParameters<typeof TcpReassembler>[1]) {
  const evs: Ev[] = [];
  const r = new TcpReassembler({
    data: (b, off) => evs.push(["data", off, new TextDecoder().decode(b)]),
    gap: (off, len) => evs.push(["gap", off, len]),
  }, opts);
  return { r, evs, text: () => evs.filter((e) => e[0] === "data").map((e) => e[2]).join("") };
}

const t = (s: string) => new TextEncoder().encode(s);
const SYN = 2, ACK = 16, FIN = 1;

Deno.test("TcpReassembler delivers in-order data after the SYN from stream offset 0", () => {
  const { r, evs } = collector();
  r.segment(100, SYN, t(""));
  r.segment(101, ACK, t("hello "));
  r.segment(107, ACK, t("world"));
  r.finish();
  eq(evs, [["data", 0, "hello "], ["data", 6, "world"]]);
  eq(r.isn, 100);
  eq(r.sawSyn, true);
});

Deno.test("TcpReassembler puts out-of-order segments back in order", () => {
  const { r, text, evs } = collector();
  r.segment(0, SYN, t(""));
  r.segment(7, ACK, t("ccc"));
  r.segment(4, ACK, t("bbb"));
  r.segment(1, ACK, t("aaa"));
  r.finish();
  eq(text(), "aaabbbccc");
  eq(r.outOfOrder, 2);
  eq(evs.filter((e) => e[0] === "gap"), []);
});

Deno.test("TcpReassembler drops retransmissions and keeps the first copy of overlapping bytes", () => {
  const { r, text } = collector();
  r.segment(0, SYN, t(""));
  r.segment(1, ACK, t("abcdef"));
  r.segment(1, ACK, t("abcdef")); // full retransmission
  r.segment(4, ACK, t("XXXghi")); // overlaps "def", adds "ghi"
  r.segment(13, ACK, t("mno")); // held: seen before what fills the hole
  r.segment(10, ACK, t("jklYYYq")); // fills the hole; "YYY" overlaps the held "mno"
  r.finish();
  eq(text(), "abcdefghijklmnoq");
  eq(r.duplicateBytes, 6 + 3 + 3);
});

Deno.test("TcpReassembler reports a hole that is never filled as a gap and goes on after it", () => {
  const { r, evs } = collector();
  r.segment(0, SYN, t(""));
  r.segment(1, ACK, t("aaaa"));
  r.segment(9, ACK, t("cccc")); // bytes 4..7 never captured
  r.segment(13, ACK | FIN, t("dd"));
  r.finish();
  eq(evs, [["data", 0, "aaaa"], ["gap", 4, 4], ["data", 8, "cccc"], ["data", 12, "dd"]]);
  eq(r.gapBytes, 4);
});

Deno.test("TcpReassembler declares a gap when too much is held back, without waiting for the end", () => {
  const { r, evs } = collector({ maxPendingSegments: 3 });
  r.segment(0, SYN, t(""));
  r.segment(1, ACK, t("a"));
  for (let i = 0; i < 4; i++) r.segment(10 + i, ACK, t("x"));
  eq(evs.slice(0, 2), [["data", 0, "a"], ["gap", 1, 8]]);
  eq(evs.length, 6);
});

Deno.test("TcpReassembler reports bytes cut by the snap length as a gap at once", () => {
  const { r, evs } = collector();
  r.segment(0, SYN, t(""));
  r.segment(1, ACK, t("abc"), 5);
  r.segment(9, ACK, t("def"));
  r.finish();
  eq(evs, [["data", 0, "abc"], ["gap", 3, 5], ["data", 8, "def"]]);
});

Deno.test("TcpReassembler follows sequence numbers across the 2^32 wrap", () => {
  const { r, text } = collector();
  r.segment(0xfffffffa, SYN, t(""));
  r.segment(0xfffffffb, ACK, t("abc"));
  r.segment(0x00000001, ACK, t("ghi")); // ahead, after the wrap
  r.segment(0xfffffffe, ACK, t("def"));
  r.finish();
  eq(text(), "abcdefghi");
});

Deno.test("TcpReassembler starts at the first segment when the SYN was not captured", () => {
  const { r, evs } = collector();
  r.segment(5000, ACK, t("mid"));
  r.segment(5003, ACK, t("dle"));
  r.finish();
  eq(evs, [["data", 0, "mid"], ["data", 3, "dle"]]);
  eq(r.sawSyn, false);
});

Deno.test("TcpReassembler ignores segments far outside any window", () => {
  const { r, text } = collector();
  r.segment(0, SYN, t(""));
  r.segment(1, ACK, t("ok"));
  r.segment(0x7fff0000, ACK, t("bogus"));
  r.segment(3, ACK, t("!"));
  r.finish();
  eq(text(), "ok!");
  eq(r.implausible, 1);
});

Deno.test("TcpReassembler yields the same stream for seeded shuffles with duplicates", () => {
  const msg = t("The quick brown fox jumps over the lazy dog. ".repeat(20));
  for (let seed = 1; seed <= 20; seed++) {
    const rnd = new Prng(seed);
    const segs: [number, Uint8Array][] = [];
    for (let off = 0; off < msg.length;) {
      const n = rnd.int(1, 50);
      segs.push([off, msg.subarray(off, off + n)]);
      off += n;
    }
    // Duplicate some, shuffle within a window of 8.
    const list = [...segs, ...segs.filter(() => rnd.int(0, 3) === 0)];
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.max(0, i - rnd.int(0, 8));
      [list[i], list[j]] = [list[j], list[i]];
    }
    const { r, text } = collector();
    r.segment(999, SYN, t(""));
    for (const [off, b] of list) r.segment(1000 + off, ACK, b);
    r.finish();
    eq(text(), new TextDecoder().decode(msg), `seed ${seed}`);
  }
});

Deno.test("TcpReassembler releases thousands of held segments at once without deep recursion", () => {
  // One segment arriving 4000 segments late (issue 16): everything after it is held, then
  // delivered in one go when it comes; with nested segments starting inside each other too.
  for (const overlap of [false, true]) {
    let got = 0, next = 0, ok = true;
    const r = new TcpReassembler({
      data: (b, off) => {
        if (off !== next) ok = false;
        next = off + b.length;
        got += b.length;
      },
      gap: () => {
        ok = false;
      },
    }, { maxPendingSegments: 100000, maxPendingBytes: 1 << 30 });
    const n = 4000;
    r.segment(0, SYN, new Uint8Array(0));
    for (let i = 1; i < n; i++) r.segment(1 + i * 10, ACK, new Uint8Array(overlap ? 15 : 10));
    // The late first segment: long enough to contain the starts of many held ones.
    r.segment(1, ACK, new Uint8Array(overlap ? n * 10 : 10));
    r.finish();
    eq(ok, true);
    eq(r.offset, overlap ? n * 10 + 5 : n * 10);
    eq(got, r.offset);
    eq(r.pendingBytes, 0);
  }
});
