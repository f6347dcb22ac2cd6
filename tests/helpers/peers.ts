/**
 * Test helpers for real peers (StayRTR, RTRlib tools, tshark) and shared data. Under CI=true a
 * missing peer fails the test; elsewhere the test is skipped with a visible message.
 */

/** True when running in CI (missing peers are then failures). */
export const IN_CI = Deno.env.get("CI") === "true";

/**
 * Path of ../shared relative to the repository (a worktree in ../wt/NAME finds ../../shared;
 * `RTR_SHARED` overrides).
 */
export const SHARED: string = (() => {
  const env = Deno.env.get("RTR_SHARED");
  if (env) return env.endsWith("/") ? env : env + "/";
  const candidates = ["../../../shared/", "../../../../shared/"].map((p) =>
    new URL(p, import.meta.url).pathname
  );
  for (const c of candidates) {
    try {
      if (Deno.statSync(`${c}data`).isDirectory) return c;
    } catch { /* try the next */ }
  }
  return candidates[0];
})();

/** Whether a command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    const r = new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}

/**
 * Returns true when all `names` exist. Otherwise, in CI it throws (the test fails); elsewhere it
 * prints a visible skip message and returns false.
 */
export function requirePeers(...names: string[]): boolean {
  const missing = names.filter((n) => !hasCommand(n));
  if (missing.length === 0) return true;
  const msg = `peer(s) not installed: ${
    missing.join(", ")
  } (install: apt-get install stayrtr rtr-tools tshark)`;
  if (IN_CI) throw new Error(msg);
  console.warn(`SKIPPED: ${msg}`);
  return false;
}

/** Returns true when ../shared/data exists; otherwise prints a visible skip message. */
export function requireSharedData(sub = ""): boolean {
  try {
    Deno.statSync(`${SHARED}data/${sub}`);
    return true;
  } catch {
    const msg = `shared data not found at ${SHARED}data/${sub}`;
    if (IN_CI) throw new Error(msg);
    console.warn(`SKIPPED: ${msg}`);
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (bound and released: a small race, acceptable for tests). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Wait until something accepts TCP connections on 127.0.0.1:port (bounded). */
export async function waitForPort(port: number, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** A running child process with its collected stderr. */
export interface Running {
  port: number;
  child: Deno.ChildProcess;
  /** Stop the process and wait for it. */
  stop(): Promise<void>;
  /** stderr seen so far. */
  log(): string;
}

function collect(stream: ReadableStream<Uint8Array>, into: string[]): void {
  const dec = new TextDecoder();
  (async () => {
    try {
      for await (const c of stream) into.push(dec.decode(c));
    } catch { /* closed */ }
  })();
}

/**
 * Start StayRTR serving `cacheFile` on a free port. Extra flags go in `args`
 * (e.g. ["-protocol", "1"]). Waits until it accepts connections and has loaded the file.
 */
export function startStayRtr(cacheFile: string, args: string[] = []): Promise<Running> {
  return startStayRtrOn(0, cacheFile, args);
}

/** Start StayRTR on `fixedPort` (0: a free port) serving `cacheFile`. */
export async function startStayRtrOn(
  fixedPort: number,
  cacheFile: string,
  args: string[] = [],
): Promise<Running> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixedPort || freePort();
    const child = new Deno.Command("stayrtr", {
      args: [
        "-bind",
        `127.0.0.1:${port}`,
        "-cache",
        cacheFile,
        "-metrics.addr",
        "",
        "-refresh",
        "3600",
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const out: string[] = [];
    collect(child.stdout, out);
    collect(child.stderr, out);
    let status: Deno.CommandStatus | null = null;
    child.status.then((s) => status = s);
    try {
      await waitForPort(port, 15000);
    } catch (e) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      if (attempt === 2) throw new Error(`stayrtr did not start: ${e}\n${out.join("")}`);
      continue;
    }
    // StayRTR accepts connections before its first load finishes: wait for the load log line.
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && status === null) {
      const log = out.join("");
      if (/New update|Updated|fetched|error|Error|not updating|stale|No data/i.test(log)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      port,
      child,
      log: () => out.join(""),
      stop: async () => {
        await stopChild(child, "SIGTERM", 3000);
      },
    };
  }
  throw new Error("unreachable");
}

/** Run a command with a bounded time; returns code, stdout and stderr as text. */
export async function runCommand(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const child = new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: opts.stdin !== undefined ? "piped" : "null",
    env: opts.env,
    cwd: opts.cwd,
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, opts.timeoutMs ?? 60000);
  // Feed stdin while the output is being read: a child that answers as it reads would otherwise
  // fill its stdout pipe and never take the rest of its input (a deadlock the timer cannot see).
  const feeding = opts.stdin === undefined ? Promise.resolve() : (async () => {
    const w = child.stdin.getWriter();
    try {
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    } catch { /* the child closed its stdin early or was killed */ }
  })();
  const out = await child.output();
  await feeding;
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    timedOut,
  };
}

/** Path of main.ts, for running `rtr` as a subprocess. */
export const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Run `rtr ARGS` as a subprocess (deno run -A main.ts). */
export function runRtr(
  args: string[],
  opts: { timeoutMs?: number; stdin?: string; env?: Record<string, string>; cwd?: string } = {},
) {
  return runCommand(Deno.execPath(), ["run", "--allow-all", "--quiet", MAIN, ...args], opts);
}

/** A fresh StayRTR-acceptable JSON file with `metadata.buildtime` set to now. */
export function stayRtrJson(
  roas: { prefix: string; maxLength: number; asn: number }[],
  keys: { asn: number; ski: string; pubkey: string }[] = [],
  aspas: { customer_asid: number; providers: number[] }[] = [],
): string {
  const now = new Date();
  return JSON.stringify({
    metadata: {
      buildtime: now.toISOString().replace(/\.\d+Z$/, "Z"),
      generated: Math.floor(now.getTime() / 1000),
    },
    roas,
    bgpsec_keys: keys,
    aspas,
    provider_authorizations: { ipv4: aspas, ipv6: aspas },
  });
}

/** Send `signal` to a child, SIGKILL it after `graceMs`, and return its exit status. */
export async function stopChild(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 5000,
): Promise<Deno.CommandStatus> {
  try {
    child.kill(signal);
  } catch { /* already gone */ }
  const t = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, graceMs);
  try {
    return await child.status;
  } finally {
    clearTimeout(t);
  }
}
