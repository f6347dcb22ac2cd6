/**
 * A scripted fake cache for client tests: listens on 127.0.0.1 port 0 and, per connection, runs
 * a script that reads the query and writes chosen bytes. Every read is bounded.
 */
import { decodePdu, encodePdus, type Pdu } from "../../lib/wire/mod.ts";

/** One accepted connection, as the script sees it. */
export interface FakeConn {
  /** Read one PDU the client sent (bounded by `timeoutMs`); null at EOF. */
  readPdu(timeoutMs?: number): Promise<Pdu | null>;
  /** Read the next raw bytes the client sent, undecoded (bounded); null at EOF. */
  readChunk(timeoutMs?: number): Promise<Uint8Array | null>;
  write(bytes: Uint8Array | Pdu[]): Promise<void>;
  close(): void;
}

/** A running fake cache. */
export interface FakeCache {
  port: number;
  /** Every PDU the clients sent, per connection. */
  received: Pdu[][];
  stop(): Promise<void>;
}

/** Start a fake cache; `script(conn, index)` runs for each connection. */
export function startFakeCache(script: (c: FakeConn, index: number) => Promise<void>): FakeCache {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: Pdu[][] = [];
  const conns: Deno.Conn[] = [];
  const tasks: Promise<void>[] = [];
  const accept = (async () => {
    let i = 0;
    for await (const conn of listener) {
      conns.push(conn);
      const mine: Pdu[] = [];
      received.push(mine);
      let buf = new Uint8Array(0);
      const fc: FakeConn = {
        async readPdu(timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs;
          while (true) {
            if (buf.length >= 8) {
              const len = new DataView(buf.buffer, buf.byteOffset).getUint32(4);
              if (buf.length >= len) {
                const pdu = decodePdu(buf.slice(0, len));
                buf = buf.slice(len);
                mine.push(pdu);
                return pdu;
              }
            }
            const chunk = new Uint8Array(65536);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error("fake cache: read timed out");
            let t: ReturnType<typeof setTimeout> | undefined;
            const n = await Promise.race([
              conn.read(chunk).catch(() => null),
              new Promise<"t">((r) => t = setTimeout(() => r("t"), left)),
            ]);
            clearTimeout(t);
            if (n === "t") throw new Error("fake cache: read timed out");
            if (n === null) return null;
            const next = new Uint8Array(buf.length + n);
            next.set(buf);
            next.set(chunk.subarray(0, n), buf.length);
            buf = next;
          }
        },
        async readChunk(timeoutMs = 5000) {
          if (buf.length > 0) {
            const b = buf;
            buf = new Uint8Array(0);
            return b;
          }
          const chunk = new Uint8Array(65536);
          let t: ReturnType<typeof setTimeout> | undefined;
          const n = await Promise.race([
            conn.read(chunk).catch(() => null),
            new Promise<"t">((r) => t = setTimeout(() => r("t"), timeoutMs)),
          ]);
          clearTimeout(t);
          if (n === "t") throw new Error("fake cache: read timed out");
          return n === null ? null : chunk.slice(0, n);
        },
        async write(bytes) {
          const b = bytes instanceof Uint8Array ? bytes : encodePdus(bytes);
          let off = 0;
          while (off < b.length) off += await conn.write(b.subarray(off));
        },
        close() {
          try {
            conn.close();
          } catch { /* closed */ }
        },
      };
      tasks.push(script(fc, i++).catch(() => {}).finally(() => fc.close()));
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    async stop() {
      try {
        listener.close();
      } catch { /* closed */ }
      // Let scripts finish their (bounded) reads first: closing now would cancel them.
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled(tasks),
        new Promise((r) => t = setTimeout(r, 6000)),
      ]);
      clearTimeout(t);
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accept;
      await Promise.allSettled(tasks);
    },
  };
}

/** IPv4 192.0.2.0/24-24 AS64496 and IPv6 2001:db8::/32-48 AS64497, as announcement PDUs. */
export function samplePrefixes(version: number): Pdu[] {
  return [
    { type: 4, version, flags: 1, prefixLength: 24, maxLength: 24, addr: [0xc0000200], asn: 64496 },
    {
      type: 6,
      version,
      flags: 1,
      prefixLength: 32,
      maxLength: 48,
      addr: [0x20010db8, 0, 0, 0],
      asn: 64497,
    },
  ];
}

/** A whole response: Cache Response, `payload`, End of Data (12 bytes for v0, timers otherwise). */
export function response(
  version: number,
  sessionId: number,
  serial: number,
  payload: Pdu[],
): Pdu[] {
  const eod: Pdu = version === 0
    ? { type: 7, version, sessionId, serial }
    : { type: 7, version, sessionId, serial, refresh: 3600, retry: 600, expire: 7200 };
  return [{ type: 3, version, sessionId }, ...payload, eod];
}
