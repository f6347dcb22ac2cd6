/**
 * `deno task install:global`: bundle main.ts into one JavaScript file (`deno bundle`, into
 * build/ of the clone), copy it into the install root (`<root>/share/rtr/rtr.js`) and install an
 * `rtr` command for that copy with `deno install --global`, so that the command keeps working
 * when the clone is moved or deleted. Then say where `rtr` went and how to put it on PATH.
 *
 * npm packages stay out of the bundle (ssh2, loaded only for SSH, is CommonJS with optional
 * native add-ons a bundle cannot carry): the copy gets an import map of its own
 * (`<root>/share/rtr/imports.json`, the clone's deno.json imports) and Deno fetches a package
 * from the npm registry the first time it is used.
 *
 * The root is `--root DIR`, else $DENO_INSTALL_ROOT, else ~/.deno (deno install's own rule).
 *
 * Usage: deno run --allow-all tools/install.ts [--root DIR]
 */
import { parseArgs } from "node:util";

/** Permissions the installed command runs with (see README, Install). */
export const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  // Defaults from the environment, and for SSH: ~/.ssh/known_hosts, an ssh-agent, a password
  // kept out of the command line.
  "--allow-env=RTR_CACHE,RTR_DATA_DIR,HOME,SSH_AUTH_SOCK,RTR_SSH_PASSWORD",
];

/** Run deno quietly; on failure its output goes to stderr and this throws. */
async function deno(args: string[], cwd: string): Promise<void> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (r.code === 0) return;
  await Deno.stderr.write(r.stdout);
  await Deno.stderr.write(r.stderr);
  throw new Error(`deno ${args[0]} failed (exit ${r.code})`);
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { root: { type: "string" } } });
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  const root = values.root ?? Deno.env.get("DENO_INSTALL_ROOT") ?? `${home}/.deno`;
  const clone = new URL("../", import.meta.url).pathname;
  const built = `${clone}build/rtr.js`;
  try {
    const imports: Record<string, string> =
      JSON.parse(await Deno.readTextFile(`${clone}deno.json`)).imports ?? {};
    const npm = Object.keys(imports).filter((k) => imports[k].startsWith("npm:"));
    await deno([
      "bundle",
      "--platform",
      "deno",
      ...npm.flatMap((k) => ["--external", k]),
      "-o",
      built,
      "main.ts",
    ], clone);
    const share = `${root}/share/rtr`;
    await Deno.mkdir(share, { recursive: true });
    const importMap = `${share}/imports.json`;
    await Deno.writeTextFile(`${importMap}.tmp`, JSON.stringify({ imports }, null, 2) + "\n");
    await Deno.rename(`${importMap}.tmp`, importMap);
    const copy = `${share}/rtr.js`;
    // Replace atomically: a running rtr keeps reading the old file.
    await Deno.copyFile(built, `${copy}.tmp`);
    await Deno.rename(`${copy}.tmp`, copy);
    await deno([
      "install",
      "--global",
      "--force",
      "--name",
      "rtr",
      "--root",
      root,
      ...PERMISSIONS,
      "--import-map",
      importMap,
      `file://${copy}`,
    ], clone);
    const bin = `${root}/bin`;
    console.error(`rtr installed: ${bin}/rtr (runs ${copy}; the clone can move)`);
    const path = (Deno.env.get("PATH") ?? "").split(":");
    if (!path.includes(bin)) {
      console.error(`${bin} is not on your PATH; add it, e.g. in ~/.profile or ~/.bashrc:`);
      console.error(`  export PATH="${bin}:$PATH"`);
    }
  } catch (e) {
    console.error(`install: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
