import { assertEquals as eq } from "../helpers/assert.ts";
import { type FileStamp, largeDrop, waitSettled } from "../../lib/cache/mod.ts";

Deno.test("waitSettled: waits until two looks agree, gives up on a file that keeps changing", async () => {
  const seq: FileStamp[] = [
    { size: 10, mtimeMs: 1 },
    { size: 20, mtimeMs: 2 },
    { size: 20, mtimeMs: 3 },
    { size: 20, mtimeMs: 3 },
  ];
  let i = 0;
  const slept: number[] = [];
  const ok = await waitSettled({
    stat: () => Promise.resolve(seq[Math.min(i++, seq.length - 1)]),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    intervalMs: 40,
  });
  eq([ok, i, slept], [true, 4, [40, 40, 40]]);
  let n = 0;
  const busy = await waitSettled({
    stat: () => Promise.resolve({ size: n++, mtimeMs: 0 }),
    sleep: () => Promise.resolve(),
    maxLooks: 5,
  });
  eq([busy, n], [false, 5]);
});

Deno.test("largeDrop: refuses a drop above the share, an empty table replacing a full one; allows growth", () => {
  eq(largeDrop(400, 150, 0.5), "150 records would replace 400, a drop of 62.5 % (above 50 %)");
  eq(largeDrop(400, 0, 0.5), "0 records would replace 400, a drop of 100 % (above 50 %)");
  eq(largeDrop(400, 200, 0.5), null);
  eq(largeDrop(400, 900, 0), null);
  eq(largeDrop(0, 0, 0), null);
  eq(
    largeDrop(199_500, 106_272, 0.3),
    "106272 records would replace 199500, a drop of 46.7 % (above 30 %)",
  );
});
