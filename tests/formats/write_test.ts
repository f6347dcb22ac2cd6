import assert from "node:assert/strict";
import { TextSink } from "../../lib/cli/io.ts";
import { parseTableText } from "../../lib/formats/read.ts";
import {
  aspaLine,
  OUTPUT_FORMATS,
  type OutputFormat,
  routerKeyLine,
  type TableMeta,
  vrpLine,
  writeDiff,
  writeTable,
} from "../../lib/formats/write.ts";
import { diffTables, type PayloadTable } from "../../lib/model/mod.ts";
import { parseRouterVersions, type RouterWriteOptions } from "../../lib/formats/router_version.ts";
import { requirePeers } from "../helpers/peers.ts";
import { KEY, memorySink, SKI, smallTable } from "./table_fixtures.ts";

const META: TableMeta = {
  source: "127.0.0.1:8282",
  version: 2,
  sessionId: 4660,
  serial: 6,
  refresh: 3600,
  retry: 600,
  expire: 7200,
  generated: new Date("2026-07-20T10:00:00.250Z"),
};

async function render(
  t: PayloadTable,
  f: OutputFormat,
  meta = META,
  opts: RouterWriteOptions = {},
): Promise<string> {
  const m = memorySink();
  await writeTable(m.sink, t, f, meta, opts);
  return m.text();
}

/** Releases that read ASPA. */
const ASPA_ROUTERS: RouterWriteOptions = { routers: parseRouterVersions(["bird=2.16,openbgpd=8"]) };

Deno.test("writeTable() json writes the rpki-client document exactly, ASPA also for StayRTR", async () => {
  assert.equal(
    await render(smallTable(), "json"),
    `{"metadata":{"source":"127.0.0.1:8282","version":2,"sessionId":4660,"serial":6,"refresh":3600,"retry":600,"expire":7200,"vrps":4,"uniquevrps":4,"vrps_ipv4":3,"vrps_ipv6":1,"bgpsec_keys":1,"aspas":2,"buildtime":"2026-07-20T10:00:00Z","generated":1784541600},
"roas":[
{"asn":13335,"prefix":"1.1.1.0/24","maxLength":24},
{"asn":64496,"prefix":"192.0.2.0/23","maxLength":24},
{"asn":4200000000,"prefix":"192.0.2.0/24","maxLength":24},
{"asn":64496,"prefix":"2001:db8::/32","maxLength":48}
],
"bgpsec_keys":[
{"asn":64498,"ski":"${SKI}","pubkey":"${KEY}"}
],
"aspas":[
{"customer_asid":15562,"providers":[2914,8283]},
{"customer_asid":64500,"providers":[64501,64502]}
],
"provider_authorizations":{"ipv4":[
{"customer_asid":15562,"providers":[2914,8283]},
{"customer_asid":64500,"providers":[64501,64502]}
],"ipv6":[
{"customer_asid":15562,"providers":[2914,8283]},
{"customer_asid":64500,"providers":[64501,64502]}
]}}
`,
  );
});

Deno.test("writeTable() json of an empty table is valid JSON with empty arrays", async () => {
  const text = await render(parseTableText('{"roas":[]}').table, "json", {
    generated: META.generated,
  });
  const doc = JSON.parse(text);
  assert.deepEqual(Object.keys(doc), [
    "metadata",
    "roas",
    "bgpsec_keys",
    "aspas",
    "provider_authorizations",
  ]);
  assert.deepEqual(doc.roas, []);
  assert.deepEqual(doc.provider_authorizations, { ipv4: [], ipv6: [] });
  assert.equal(doc.metadata.buildtime, "2026-07-20T10:00:00Z");
  assert.equal(doc.metadata.generated, 1784541600);
});

Deno.test("writeTable() ndjson writes type-first records then one sync record", async () => {
  assert.equal(
    await render(smallTable(), "ndjson"),
    `{"type":"vrp","action":"announce","prefix":"1.1.1.0/24","maxLength":24,"asn":13335}
{"type":"vrp","action":"announce","prefix":"192.0.2.0/23","maxLength":24,"asn":64496}
{"type":"vrp","action":"announce","prefix":"192.0.2.0/24","maxLength":24,"asn":4200000000}
{"type":"vrp","action":"announce","prefix":"2001:db8::/32","maxLength":48,"asn":64496}
{"type":"routerKey","action":"announce","asn":64498,"ski":"${SKI}","pubkey":"${KEY}"}
{"type":"aspa","action":"announce","customer_asid":15562,"providers":[2914,8283]}
{"type":"aspa","action":"announce","customer_asid":64500,"providers":[64501,64502]}
{"type":"sync","source":"127.0.0.1:8282","serial":6,"sessionId":4660,"version":2,"reset":true,"announced":7,"withdrawn":0,"vrps":4,"vrpsIpv4":3,"vrpsIpv6":1,"routerKeys":1,"aspas":2,"refresh":3600,"retry":600,"expire":7200,"time":"2026-07-20T10:00:00Z"}
`,
  );
});

Deno.test("writeTable() csv writes rpki-client's header and rows with an empty trust anchor", async () => {
  assert.equal(
    await render(smallTable(), "csv"),
    `ASN,IP Prefix,Max Length,Trust Anchor
AS13335,1.1.1.0/24,24,
AS64496,192.0.2.0/23,24,
AS4200000000,192.0.2.0/24,24,
AS64496,2001:db8::/32,48,
`,
  );
});

Deno.test("writeTable() openbgpd writes roa-set (maxlen only when needed) and aspa-set", async () => {
  assert.equal(
    await render(smallTable(), "openbgpd", META, ASPA_ROUTERS),
    `# rtr snapshot of 127.0.0.1:8282, session 4660, serial 6, version 2, at 2026-07-20T10:00:00Z
# 4 VRPs (3 IPv4, 1 IPv6), 1 router keys, 2 ASPA
# 1 BGPsec router key(s) left out: bgpd.conf has no syntax for them
roa-set {
\t1.1.1.0/24 source-as 13335
\t192.0.2.0/23 maxlen 24 source-as 64496
\t192.0.2.0/24 source-as 4200000000
\t2001:db8::/32 maxlen 48 source-as 64496
}
aspa-set {
\tcustomer-as 15562 provider-as { 2914, 8283 }
\tcustomer-as 64500 provider-as { 64501, 64502 }
}
`,
  );
});

Deno.test("writeTable() bird writes roa4/roa6 tables, static protocols and ASPA routes", async () => {
  assert.equal(
    await render(smallTable(), "bird", META, ASPA_ROUTERS),
    `# rtr snapshot of 127.0.0.1:8282, session 4660, serial 6, version 2, at 2026-07-20T10:00:00Z
# 4 VRPs (3 IPv4, 1 IPv6), 1 router keys, 2 ASPA
# 1 BGPsec router key(s) left out: BIRD has no syntax for them
roa4 table ROAS4;
roa6 table ROAS6;
aspa table ASPAS;

protocol static rtr_roa4 {
\troa4 { table ROAS4; };
\troute 1.1.1.0/24 max 24 as 13335;
\troute 192.0.2.0/23 max 24 as 64496;
\troute 192.0.2.0/24 max 24 as 4200000000;
}

protocol static rtr_roa6 {
\troa6 { table ROAS6; };
\troute 2001:db8::/32 max 48 as 64496;
}

protocol static rtr_aspa {
\taspa { table ASPAS; };
\troute aspa 15562 providers 2914, 8283;
\troute aspa 64500 providers 64501, 64502;
}
`,
  );
});

Deno.test("writeTable() openbgpd and bird handle an empty provider list", async () => {
  const t = parseTableText('{"aspas":[{"customer":"AS3335","providers":[]}]}').table;
  const meta = { generated: META.generated };
  assert.match(
    await render(t, "openbgpd", meta, ASPA_ROUTERS),
    /aspa-set \{\n\t# customer-as 3335 has an empty provider list, left out\n\}\n$/,
  );
  assert.match(await render(t, "bird", meta, ASPA_ROUTERS), /\troute aspa 3335 transit;\n\}\n$/);
});

Deno.test("writeTable() openbgpd and bird leave ASPA out by default, for the releases Debian ships", async () => {
  const bird = await render(smallTable(), "bird");
  assert.doesNotMatch(bird, /aspa table|route aspa|rtr_aspa/);
  assert.match(
    bird,
    /^# 2 ASPA record\(s\) left out: BIRD reads them from 2\.16 on \(--router-version bird=2\.16\)$/m,
  );
  assert.match(bird, /roa4 table ROAS4;\nroa6 table ROAS6;\n\nprotocol static rtr_roa4/);
  const bgpd = await render(smallTable(), "openbgpd");
  assert.doesNotMatch(bgpd, /^aspa-set|customer-as/m);
  assert.match(
    bgpd,
    /\}\n# 2 ASPA record\(s\) left out: OpenBGPD reads aspa-set from 8\.0 on \(--router-version openbgpd=8\)\n$/,
  );
  // Releases before the ASPA ones give the same as the default.
  for (const v of ["bird=2.0", "bird=2.15.1", "openbgpd=7.x", "openbgpd=7.7"]) {
    const o = { routers: parseRouterVersions([v]) };
    assert.equal(await render(smallTable(), "bird", META, o), bird, v);
    assert.equal(await render(smallTable(), "openbgpd", META, o), bgpd, v);
  }
  for (const v of ["bird=3", "bird=2.16", "openbgpd=8", "openbgpd=9.1"]) {
    const o = { routers: parseRouterVersions([v]) };
    const f = v.startsWith("bird") ? "bird" : "openbgpd";
    assert.match(await render(smallTable(), f, META, o), /aspa table ASPAS;|aspa-set \{/, v);
  }
  for (const bad of ["bird", "bird=", "gobgp=3", "bird=two"]) {
    assert.throws(() => parseRouterVersions([bad]), /--router-version must be bird=VERSION/);
  }
});

Deno.test("json output round-trips through parseTableText to the same table", async () => {
  const t = smallTable();
  const back = parseTableText(await render(t, "json"), "ours.json");
  assert.equal(back.dialect, "rtr");
  assert.deepEqual(back.warnings, []);
  assert.deepEqual(back.table, t);
  assert.equal(back.metadata.serial, 6);
});

Deno.test("ndjson output round-trips, and its sync record becomes the metadata", async () => {
  const t = smallTable();
  const back = parseTableText(await render(t, "ndjson"));
  assert.equal(back.dialect, "ndjson");
  assert.deepEqual(back.table, t);
  assert.equal(back.metadata.sessionId, 4660);
  assert.equal(back.metadata.reset, true);
});

Deno.test("csv output round-trips the VRPs (router keys and ASPA are not in CSV)", async () => {
  const t = smallTable();
  const back = parseTableText(await render(t, "csv"));
  assert.equal(back.dialect, "rpki-client-csv");
  assert.deepEqual(back.table.vrps, t.vrps);
  assert.deepEqual(back.table.routerKeys, []);
});

Deno.test("every output format writes an empty table without error", async () => {
  const t = parseTableText('{"roas":[]}').table;
  for (const f of OUTPUT_FORMATS) {
    const text = await render(t, f, { generated: META.generated });
    assert.ok(text.length > 0, f);
  }
});

Deno.test("writeTable() streams a large table in many writes, never one giant string", async () => {
  const roas = [];
  for (let i = 0; i < 20000; i++) {
    roas.push({ asn: i, prefix: `10.${i >> 8}.${i & 255}.0/24`, maxLength: 24 });
  }
  const t = parseTableText(JSON.stringify({ roas })).table;
  const sizes: number[] = [];
  const sink = new TextSink({
    write: (p) => {
      sizes.push(p.length);
      return Promise.resolve(p.length);
    },
  });
  await writeTable(sink, t, "json", META);
  assert.ok(sizes.length > 5, `only ${sizes.length} writes`);
  assert.ok(Math.max(...sizes) < 1 << 20, `a write of ${Math.max(...sizes)} bytes`);
});

Deno.test("line builders put type first and writeDiff writes withdrawals before announcements", async () => {
  assert.equal(
    vrpLine("withdraw", { prefix: "192.0.2.0/24", maxLength: 24, asn: 64496 }),
    '{"type":"vrp","action":"withdraw","prefix":"192.0.2.0/24","maxLength":24,"asn":64496}',
  );
  assert.equal(
    routerKeyLine("announce", { asn: 64498, ski: SKI, pubkey: "AAAA" }),
    `{"type":"routerKey","action":"announce","asn":64498,"ski":"${SKI}","pubkey":"AAAA"}`,
  );
  assert.equal(
    aspaLine("announce", { customer: 64500, providers: [64501, 64502] }),
    '{"type":"aspa","action":"announce","customer_asid":64500,"providers":[64501,64502]}',
  );
  const a = parseTableText(JSON.stringify({
    roas: [{ asn: 1, prefix: "10.0.0.0/8" }, { asn: 2, prefix: "2001:db8::/32" }],
    aspas: [{ customer_asid: 5, providers: [6] }, { customer_asid: 7, providers: [8] }],
  })).table;
  const b = parseTableText(JSON.stringify({
    roas: [{ asn: 1, prefix: "10.0.0.0/8" }, { asn: 3, prefix: "11.0.0.0/8", maxLength: 16 }],
    bgpsec_keys: [{ asn: 9, ski: SKI, pubkey: "AAAA" }],
    aspas: [{ customer_asid: 5, providers: [6, 9] }],
  })).table;
  const m = memorySink();
  await writeDiff(m.sink, diffTables(a, b));
  await m.sink.flush();
  assert.equal(
    m.text(),
    `{"type":"vrp","action":"withdraw","prefix":"2001:db8::/32","maxLength":32,"asn":2}
{"type":"aspa","action":"withdraw","customer_asid":7,"providers":[8]}
{"type":"vrp","action":"announce","prefix":"11.0.0.0/8","maxLength":16,"asn":3}
{"type":"routerKey","action":"announce","asn":9,"ski":"${SKI}","pubkey":"AAAA"}
{"type":"aspa","action":"announce","customer_asid":5,"providers":[6,9]}
`,
  );
});

/** The installed release of a router (`bird --version`, `bgpd -V`), e.g. "2.0.12". */
async function installed(cmd: string, flag: string): Promise<string> {
  const r = await new Deno.Command(cmd, { args: [flag] }).output();
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  return /(\d+\.\d+(?:\.\d+)?)/.exec(text)![1];
}

Deno.test("bgpd -n and bird -p load our default openbgpd and bird output, and that for their release", async () => {
  // The default output must load in the releases Debian ships (OpenBGPD 7.7 and BIRD 2.0.12
  // predate ASPA); --router-version with the installed release must load too (with ASPA when
  // the release has it). A table with VRPs of both families, a router key and ASPA.
  const t = smallTable();
  const dir = await Deno.makeTempDir();
  try {
    if (requirePeers("bgpd")) {
      const release = await installed("bgpd", "-V");
      for (const opts of [{}, { routers: parseRouterVersions([`openbgpd=${release}`]) }]) {
        await Deno.writeTextFile(`${dir}/frag`, await render(t, "openbgpd", META, opts));
        await Deno.writeTextFile(
          `${dir}/bgpd.conf`,
          `AS 64496\nrouter-id 192.0.2.1\ninclude "${dir}/frag"\n`,
        );
        const r = await new Deno.Command("bgpd", { args: ["-n", "-f", `${dir}/bgpd.conf`] })
          .output();
        assert.equal(r.code, 0, `OpenBGPD ${release}: ${new TextDecoder().decode(r.stderr)}`);
      }
    }
    if (requirePeers("bird")) {
      const release = await installed("bird", "--version");
      for (const opts of [{}, { routers: parseRouterVersions([`bird=${release}`]) }]) {
        await Deno.writeTextFile(`${dir}/frag.bird`, await render(t, "bird", META, opts));
        await Deno.writeTextFile(
          `${dir}/bird.conf`,
          `router id 192.0.2.1;\ninclude "${dir}/frag.bird";\n`,
        );
        const r = await new Deno.Command("bird", { args: ["-p", "-c", `${dir}/bird.conf`] })
          .output();
        assert.equal(r.code, 0, `BIRD ${release}: ${new TextDecoder().decode(r.stderr)}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
