import assert from "node:assert/strict";
import {
  AtomicFile,
  checkOutputPath,
  parseTemporaryName,
  randomSuffix,
  temporaryName,
  writeFileAtomic,
} from "../../lib/io/mod.ts";
import { RtrError } from "../../lib/errors.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "rtr-atomic-" });
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RtrError, `expected an RtrError, got ${e}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes("\n"), "one line");
    assert.ok(!/allow-/.test(e.message), "no Deno permission hint");
    return true;
  });
}

Deno.test("writeFileAtomic() writes the file and leaves no temporary file", async () => {
  const dir = await tempDir();
  await writeFileAtomic(`${dir}/out.json`, "hello\n");
  assert.equal(await Deno.readTextFile(`${dir}/out.json`), "hello\n");
  assert.deepEqual(await names(dir), ["out.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("temporary names carry the pid and 16 random hex digits, and parse back", () => {
  const s = randomSuffix();
  assert.match(s, /^[0-9a-f]{16}$/);
  assert.notEqual(randomSuffix(), s);
  const n = temporaryName("routingtable.json", s);
  assert.equal(n, `.routingtable.json.${Deno.pid}.${s}.tmp`);
  assert.deepEqual(parseTemporaryName(n), { base: "routingtable.json", pid: Deno.pid });
  // Names of earlier versions (8 hex digits) are still recognised for cleanup.
  assert.deepEqual(parseTemporaryName(".state.json.12.0123abcd.tmp"), {
    base: "state.json",
    pid: 12,
  });
  assert.equal(parseTemporaryName("state.json"), null);
  assert.equal(parseTemporaryName(".state.json.12.tmp"), null);
});

Deno.test("AtomicFile.create() never writes through a symlink planted at its temporary name", async () => {
  const dir = await tempDir();
  const victim = `${dir}/victim`;
  await Deno.writeTextFile(victim, "precious\n");
  const planted = "00000000000000aa";
  const plantedPath = `${dir}/${temporaryName("out", planted)}`;
  await Deno.symlink(victim, plantedPath);
  // The old predictable name, too.
  await Deno.symlink(victim, `${dir}/.out.${Deno.pid}.tmp`);
  const suffixes = [planted, "00000000000000bb"];
  const f = await AtomicFile.create(`${dir}/out`, { suffix: () => suffixes.shift()! });
  assert.equal(f.tmpPath, `${dir}/${temporaryName("out", "00000000000000bb")}`);
  await f.sink.write("new content\n");
  await f.commit();
  assert.equal(await Deno.readTextFile(victim), "precious\n");
  assert.equal(await Deno.readTextFile(`${dir}/out`), "new content\n");
  assert.ok((await Deno.lstat(plantedPath)).isSymlink);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("AtomicFile.create() gives up when every random name is taken, touching nothing", async () => {
  const dir = await tempDir();
  const victim = `${dir}/victim`;
  await Deno.writeTextFile(victim, "precious\n");
  await Deno.symlink(victim, `${dir}/${temporaryName("out", "0000000000000000")}`);
  await rejectsWith(
    AtomicFile.create(`${dir}/out`, { suffix: () => "0000000000000000" }),
    /^Cannot write .*out: already exists$/,
  );
  assert.equal(await Deno.readTextFile(victim), "precious\n");
  assert.equal((await names(dir)).length, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a symlink target: the file it points to is replaced atomically, the link stays", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/real`);
  await Deno.writeTextFile(`${dir}/real/table.json`, "old\n");
  await Deno.symlink("real/table.json", `${dir}/link.json`);
  await writeFileAtomic(`${dir}/link.json`, "new\n");
  assert.ok((await Deno.lstat(`${dir}/link.json`)).isSymlink);
  assert.equal(await Deno.readLink(`${dir}/link.json`), "real/table.json");
  assert.equal(await Deno.readTextFile(`${dir}/real/table.json`), "new\n");
  assert.deepEqual(await names(`${dir}/real`), ["table.json"]);
  assert.deepEqual(await names(dir), ["link.json", "real"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a dangling symlink target: the file it names is created", async () => {
  const dir = await tempDir();
  await Deno.symlink("made.txt", `${dir}/link`);
  await writeFileAtomic(`${dir}/link`, "x");
  assert.ok((await Deno.lstat(`${dir}/link`)).isSymlink);
  assert.equal(await Deno.readTextFile(`${dir}/made.txt`), "x");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a FIFO (behind a symlink, like /dev/null) is written through, never replaced", async () => {
  const dir = await tempDir();
  const fifo = `${dir}/fifo`;
  const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(mk.code, 0);
  await Deno.symlink(fifo, `${dir}/null`);
  const reader = (async () => {
    const r = await Deno.open(fifo, { read: true });
    return await new Response(r.readable).text();
  })();
  await checkOutputPath(`${dir}/null`);
  const f = await AtomicFile.create(`${dir}/null`);
  assert.equal(f.tmpPath, null);
  await f.sink.write("through the pipe\n");
  await f.commit();
  assert.equal(await reader, "through the pipe\n");
  assert.ok((await Deno.lstat(fifo)).isFifo);
  assert.ok((await Deno.lstat(`${dir}/null`)).isSymlink);
  assert.deepEqual(await names(dir), ["fifo", "null"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a directory target fails with one line before anything is created", async () => {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/out`);
  await rejectsWith(checkOutputPath(`${dir}/out`), /^Cannot write .*\/out: is a directory$/);
  await rejectsWith(AtomicFile.create(`${dir}/out`), /: is a directory$/);
  await rejectsWith(AtomicFile.create(`${dir}/out/`), /: is a directory$/);
  assert.deepEqual(await names(dir), ["out"]);
  assert.deepEqual(await names(`${dir}/out`), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a missing directory fails with one line naming it", async () => {
  const dir = await tempDir();
  await rejectsWith(
    checkOutputPath(`${dir}/nope/out.json`),
    new RegExp(`^Cannot write ${dir}/nope/out.json: no directory ${dir}/nope$`),
  );
  await Deno.writeTextFile(`${dir}/file`, "");
  await rejectsWith(checkOutputPath(`${dir}/file/out.json`), /is not a directory$/);
  assert.deepEqual(await names(dir), ["file"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkOutputPath() leaves no probe file behind and accepts - and /dev/stdout", async () => {
  const dir = await tempDir();
  await checkOutputPath(`${dir}/out.json`);
  assert.deepEqual(await names(dir), []);
  await checkOutputPath("-");
  await checkOutputPath("/dev/stdout");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("abort() and a failed commit remove the temporary file; the target is untouched", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/out`, "old\n");
  const a = await AtomicFile.create(`${dir}/out`);
  await a.sink.write("half");
  await a.abort();
  assert.deepEqual(await names(dir), ["out"]);
  assert.equal(await Deno.readTextFile(`${dir}/out`), "old\n");

  // The target turns into a non-empty directory meanwhile: the rename fails.
  await Deno.remove(`${dir}/out`);
  const b = await AtomicFile.create(`${dir}/out`);
  await b.sink.write("data");
  await Deno.mkdir(`${dir}/out`);
  await Deno.writeTextFile(`${dir}/out/x`, "");
  await rejectsWith(b.commit(), /^Cannot write .*\/out: /);
  assert.deepEqual(await names(dir), ["out"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an existing file keeps its permissions when replaced", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/out`, "old\n", { mode: 0o600 });
  await Deno.chmod(`${dir}/out`, 0o600);
  await writeFileAtomic(`${dir}/out`, "new\n");
  assert.equal((await Deno.stat(`${dir}/out`)).mode! & 0o777, 0o600);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("-, /dev/stdout and /dev/stderr write to the process's streams with --allow-read --allow-write only", async () => {
  const mod = new URL("../../lib/io/mod.ts", import.meta.url).href;
  const code = `
    import { AtomicFile, checkOutputPath } from "${mod}";
    for (const p of ["-", "/dev/stdout", "/dev/stderr", "/dev/fd/1"]) {
      await checkOutputPath(p);
      const f = await AtomicFile.create(p);
      await f.sink.write(p + "\\n");
      await f.commit();
    }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", "--allow-read", "--allow-write", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert.equal(dec.decode(out.stderr), "/dev/stderr\n");
  assert.equal(dec.decode(out.stdout), "-\n/dev/stdout\n/dev/fd/1\n");
  assert.equal(out.code, 0);
});

Deno.test("append mode adds to an existing file in place", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/dump.bin`, "ab");
  const f = await AtomicFile.create(`${dir}/dump.bin`, { append: true });
  f.writeSync(new TextEncoder().encode("cd"));
  await f.commit();
  assert.equal(await Deno.readTextFile(`${dir}/dump.bin`), "abcd");
  assert.deepEqual(await names(dir), ["dump.bin"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a symlink loop fails with one line and creates nothing", async () => {
  const dir = await tempDir();
  await Deno.symlink("b", `${dir}/a`);
  await Deno.symlink("a", `${dir}/b`);
  await rejectsWith(checkOutputPath(`${dir}/a`), /: too many levels of symbolic links$/);
  await rejectsWith(AtomicFile.create(`${dir}/a`), /: too many levels of symbolic links$/);
  assert.deepEqual(await names(dir), ["a", "b"]);
  await Deno.remove(dir, { recursive: true });
});
