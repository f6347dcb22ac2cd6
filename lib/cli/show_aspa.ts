/**
 * `rtr show --aspa AS` and `--providers-of AS`: the ASPA record of a customer (8210bis §5.12; the
 * union of its records, as AS_PATH verification uses it) and the customers whose record lists an
 * AS as a provider.
 */
import { UsageError } from "../errors.ts";
import type { PayloadTable } from "../model/table.ts";
import { parseAsnText } from "../rov/mod.ts";
import type { OptionSpec, Parsed } from "./args.ts";
import { type TextSink, warn } from "./io.ts";

/** The flags this adds to `show`. */
export const SHOW_ASPA_OPTIONS: OptionSpec = {
  aspa: { type: "string", multiple: true },
  "providers-of": { type: "string", multiple: true },
};

/** Help lines for SHOW_ASPA_OPTIONS. */
export const SHOW_ASPA_HELP =
  `  --aspa AS         the ASPA record of customer AS: its providers (AS0 alone: it has
                    none), or "-" when it has no record; repeatable
  --providers-of AS the customers whose ASPA lists AS as a provider; repeatable`;

function asns(p: Parsed, name: string): number[] {
  const v = p.values[name];
  const list = Array.isArray(v) ? v : [];
  return list.map((t) => {
    const a = parseAsnText(t);
    if (a < 0) {
      throw new UsageError(
        `--${name} must be an AS number (64500 or AS64500), got ${
          JSON.stringify(t)
        } (see 'rtr show --help')`,
      );
    }
    return a;
  });
}

/** True when an ASPA flag was given. */
export function wantsAspa(p: Parsed): boolean {
  return p.values.aspa !== undefined || p.values["providers-of"] !== undefined;
}

/** Check the flags before the table is loaded (a bad AS is a usage error). */
export function checkAspaFlags(p: Parsed): void {
  asns(p, "aspa");
  asns(p, "providers-of");
}

function row(a: string, b: string): string {
  return `${a.padEnd(12)} ${b}\n`;
}

/** Write the tables the ASPA flags ask for. */
export async function showAspa(p: Parsed, table: PayloadTable, sink: TextSink): Promise<void> {
  const customers = asns(p, "aspa"), providers = asns(p, "providers-of");
  if (table.aspas.length === 0) {
    // "-" says "no record": from a table that holds none (CSV, a cache below version 2) say why.
    warn("rtr: warning: the table holds no ASPA records (a cache sends them only at protocol 2)");
  }
  const list = (l: number[]) => l.length === 0 ? "-" : l.map((x) => `AS${x}`).join(", ");
  if (customers.length > 0) {
    await sink.write(row("CUSTOMER", "PROVIDERS"));
    for (const c of customers) {
      const a = table.aspas.find((x) => x.customer === c);
      const text = !a
        ? "-"
        : a.providers.every((x) => x === 0)
        ? "AS0 (no providers)"
        : list(a.providers.filter((x) => x !== 0));
      await sink.write(row(`AS${c}`, text));
    }
  }
  if (providers.length > 0) {
    await sink.write(row("PROVIDER", "CUSTOMERS"));
    for (const q of providers) {
      const of = q === 0 ? [] : table.aspas.filter((x) => x.providers.includes(q));
      await sink.write(row(`AS${q}`, list(of.map((x) => x.customer))));
    }
  }
}
