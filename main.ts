/** Entry point of the `rtr` command: runs the CLI and exits with its code. */
import { main } from "./lib/cli/mod.ts";

if ("WorkerGlobalScope" in globalThis) {
  // A worker thread of `validate --aspa` started from the one-file bundle of the install: the
  // bundle is the worker's module, so load the worker side (lib/cli/aspa_threads.ts) now.
  await import("./lib/cli/aspa_threads.ts");
} else if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
