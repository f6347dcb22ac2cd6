/** Run `rtr` as a long-lived child and read its stdout line by line with bounded waits. */
import { MAIN, stopChild } from "./peers.ts";

/** A running `rtr` child. */
export interface LineChild {
  child: Deno.ChildProcess;
  /** Lines of stdout so far. */
  lines: string[];
  /** stderr so far. */
  stderr(): string;
  /** Wait (bounded) until `pred` holds for the lines seen so far. */
  waitFor(pred: (lines: string[]) => boolean, timeoutMs?: number, what?: string): Promise<void>;
  /** Send a signal and wait for the exit code (SIGKILL after 5 s). */
  stop(signal?: Deno.Signal): Promise<number>;
}

/** Spawn `deno run -A main.ts ARGS`. */
export function spawnRtr(args: string[], cwd?: string): LineChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--quiet", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    cwd,
  }).spawn();
  const lines: string[] = [];
  const err: string[] = [];
  const dec = new TextDecoder();
  (async () => {
    let buf = "";
    try {
      for await (const c of child.stdout) {
        buf += dec.decode(c, { stream: true });
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
    } catch { /* closed */ }
  })();
  (async () => {
    try {
      for await (const c of child.stderr) err.push(dec.decode(c));
    } catch { /* closed */ }
  })();
  let exited: number | null = null;
  const status = child.status.then((s) => exited = s.code);
  return {
    child,
    lines,
    stderr: () => err.join(""),
    async waitFor(pred, timeoutMs = 20000, what = "condition") {
      const deadline = Date.now() + timeoutMs;
      while (!pred(lines)) {
        if (exited !== null) {
          throw new Error(`rtr exited (${exited}) before ${what}; stderr:\n${err.join("")}`);
        }
        if (Date.now() > deadline) {
          throw new Error(
            `timed out waiting for ${what}; stdout:\n${lines.join("\n")}\nstderr:\n${err.join("")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      await stopChild(child, signal);
      await status;
      return exited!;
    },
  };
}
