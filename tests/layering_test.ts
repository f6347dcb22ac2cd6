/**
 * Keeps the dependency direction of docs/architecture.md true: a module never imports from a higher layer.
 * Layers, bottom up: errors, serial, io → wire → model → session, cache → client, transport,
 * follower, server (transport_node, transport_ssh, transport_tls and ssh_keys beside
 * transport) → store, capture, formats, rov → cli → main.ts.
 */
import { assertEquals as eq } from "./helpers/assert.ts";

const LIB = new URL("../lib/", import.meta.url).pathname;

/** Layer of a path relative to lib/. */
function layer(rel: string): number {
  const top = rel.split("/")[0].replace(/\.ts$/, "");
  const table: Record<string, number> = {
    errors: 0,
    clock: 0,
    serial: 0,
    io: 0,
    wire: 1,
    model: 2,
    session: 3,
    cache: 3,
    client: 4,
    transport: 4,
    transport_node: 4,
    transport_ssh: 4,
    transport_tls: 4,
    ssh_keys: 4,
    follower: 4,
    server: 4,
    upstream: 4,
    serve_payload: 4,
    store: 5,
    capture: 5,
    formats: 5,
    rov: 5,
    probe: 5,
    monitor: 5,
    cli: 6,
  };
  if (!(top in table)) {
    throw new Error(`lib/${rel} is not placed in a layer: add it to layering_test.ts`);
  }
  return table[top];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}${e.name}`;
    if (e.isDirectory) walk(`${p}/`, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

Deno.test("lib modules import only from their own or lower layers", () => {
  const bad: string[] = [];
  for (const file of walk(LIB)) {
    const rel = file.slice(LIB.length);
    const text = Deno.readTextFileSync(file);
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^"';]*?from\s+"(\.[^"]+)"/g)) {
      const target = new URL(m[1], `file://${file}`).pathname;
      if (!target.startsWith(LIB)) continue;
      const trel = target.slice(LIB.length);
      if (layer(trel) > layer(rel)) bad.push(`lib/${rel} imports lib/${trel}`);
    }
    for (const m of text.matchAll(/import\(\s*"(\.[^"]+)"\s*\)/g)) {
      const trel = new URL(m[1], `file://${file}`).pathname.slice(LIB.length);
      if (layer(trel) > layer(rel)) bad.push(`lib/${rel} imports lib/${trel}`);
    }
  }
  eq(bad, []);
});
