/** The `#` comment that opens configuration outputs (OpenBGPD, BIRD): provenance and counts. */
import { type PayloadTable, tableCounts } from "../model/mod.ts";
import type { TableMeta } from "./records.ts";
import { rfc3339 } from "./text.ts";

/** `# rtr snapshot of SOURCE, session S serial N, TIME: V VRPs (…), K router keys, A ASPA` + newline. */
export function headerComment(table: PayloadTable, meta: TableMeta): string {
  const c = tableCounts(table);
  const parts = [`# rtr snapshot${meta.source !== undefined ? ` of ${meta.source}` : ""}`];
  if (meta.sessionId !== undefined) parts.push(`session ${meta.sessionId}`);
  if (meta.serial !== undefined) parts.push(`serial ${meta.serial}`);
  if (meta.version !== undefined) parts.push(`version ${meta.version}`);
  return `${parts.join(", ")}, at ${rfc3339(meta.generated)}\n` +
    `# ${c.vrps} VRPs (${c.vrpsIpv4} IPv4, ${c.vrpsIpv6} IPv6), ${c.routerKeys} router keys, ${c.aspas} ASPA\n`;
}
