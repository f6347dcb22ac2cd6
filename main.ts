/** Entry point of the `rtr` command: runs the CLI and exits with its code. */
import { main } from "./lib/cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
