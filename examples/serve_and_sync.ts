/**
 * `rtr` as a library: serve a table from TypeScript, then fetch it back with a client, over real
 * TCP on 127.0.0.1. Run it with `deno run --allow-net examples/serve_and_sync.ts`.
 */
import {
  fromDenoListener,
  makeTable,
  RtrCache,
  RtrServer,
  syncOnce,
  tableCounts,
  VrpSet,
} from "../mod.ts";

// A cache with one table: two VRPs and an ASPA record.
const table = makeTable(
  VrpSet.from([
    { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 },
    { prefix: "2001:db8::/32", maxLength: 48, asn: 64497 },
  ]),
  [],
  [{ customer: 64500, providers: [64501, 64502] }],
);
const server = new RtrServer(new RtrCache({ sessionId: 4660 }));
server.publish(table);
const listener = fromDenoListener(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
const serving = server.serve(listener);

// A router's view of it: one Reset Query at version 2, committed at End of Data.
const { result, version } = await syncOnce({ host: "127.0.0.1", port: listener.addr.port });
console.log(`version ${version}, serial ${result?.serial}:`, tableCounts(result!.table));
for (const vrp of result!.table.vrps) console.log(vrp);

await server.stop();
await serving;
