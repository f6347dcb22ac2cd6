import assert from "node:assert/strict";
import { InputError } from "../../lib/errors.ts";
import { parseTableText, readTableFile } from "../../lib/formats/read.ts";
import { tableCounts } from "../../lib/model/mod.ts";
import { requireSharedData, SHARED } from "../helpers/peers.ts";

const FIXTURES = `${SHARED}data/fixtures/`;
const WEEKLY = `${SHARED}data/vrps_2017_weekly/`;

function vrpList(text: string, name?: string): string[] {
  return [...parseTableText(text, name).table.vrps].map((v) =>
    `${v.prefix} ${v.maxLength} ${v.asn}`
  );
}

Deno.test("parseTableText() reads rpki-client JSON with router keys and ASPA", () => {
  const t = parseTableText(JSON.stringify({
    metadata: { buildtime: "2024-03-17T02:54:33Z" },
    roas: [
      { asn: 13335, prefix: "1.0.0.0/24", maxLength: 24, ta: "apnic", expires: 1 },
      { asn: 9367, prefix: "2001:200:136::/48", maxLength: 48, ta: "apnic" },
    ],
    bgpsec_keys: [{ asn: 945, ski: "510f485d29a29db7b515f9c478f8ed3cb7aa7d23", pubkey: "AAAA" }],
    aspas: [{ customer_asid: 945, expires: 1, providers: [6939, 174, 174] }],
  }));
  assert.equal(t.dialect, "rpki-client");
  assert.deepEqual(tableCounts(t.table), {
    vrps: 2,
    vrpsIpv4: 1,
    vrpsIpv6: 1,
    routerKeys: 1,
    aspas: 1,
  });
  assert.equal(t.table.routerKeys[0].ski, "510F485D29A29DB7B515F9C478F8ED3CB7AA7D23");
  assert.deepEqual(t.table.aspas, [{ customer: 945, providers: [174, 6939] }]);
  assert.deepEqual(t.metadata, { buildtime: "2024-03-17T02:54:33Z" });
});

Deno.test("parseTableText() merges StayRTR provider_authorizations per customer", () => {
  const t = parseTableText(JSON.stringify({
    metadata: { vrps: 0 },
    roas: [],
    provider_authorizations: {
      ipv4: [{ customer_asid: 64500, providers: [64502] }],
      ipv6: [{ customer_asid: 64500, providers: [64501] }, { customer_asid: 7, providers: [8] }],
    },
  }));
  assert.equal(t.dialect, "rtrdump");
  assert.deepEqual(t.table.aspas, [
    { customer: 7, providers: [8] },
    { customer: 64500, providers: [64501, 64502] },
  ]);
});

Deno.test("parseTableText() reads Routinator JSON with AS strings, routerKeys and customer", () => {
  const t = parseTableText(JSON.stringify({
    metadata: { generated: 1, generatedTime: "2021-07-21T07:42:15Z" },
    roas: [{ asn: "AS4200000000", prefix: "2001:DB8::/32", maxLength: 32, ta: "ta" }],
    routerKeys: [{
      asn: "AS64512",
      SKI: "be889b55d0b737397d75c49f485b858fa98ad11f",
      routerPublicKey: "AAAA",
    }],
    aspas: [{ customer: "AS64500", providers: ["AS64502", "as64501"] }],
  }));
  assert.equal(t.dialect, "routinator");
  assert.deepEqual([...t.table.vrps], [{
    prefix: "2001:db8::/32",
    maxLength: 32,
    asn: 4200000000,
  }]);
  assert.deepEqual(t.table.routerKeys, [{
    asn: 64512,
    ski: "BE889B55D0B737397D75C49F485B858FA98AD11F",
    pubkey: "AAAA",
  }]);
  assert.deepEqual(t.table.aspas, [{ customer: 64500, providers: [64501, 64502] }]);
});

Deno.test("parseTableText() reads GoRTR JSON", () => {
  const t = parseTableText(
    '{"metadata":{"generated":1,"valid":2},"roas":[{"prefix":"10.0.0.0/8","maxLength":8,"asn":"AS1"}]}',
  );
  assert.equal(t.dialect, "gortr");
  assert.deepEqual(vrpList(JSON.stringify({ roas: [{ prefix: "10.0.0.0/8", asn: "AS1" }] })), [
    "10.0.0.0/8 8 1",
  ]);
});

Deno.test("parseTableText() reads RTRlib rtrclient JSON with quoted numbers and Sync done", () => {
  const text = 'Sync done\n[\n\t{\n\t\t"prefix": "1.16.0.0",\n\t\t"length": "16",\n' +
    '\t\t"maxlen": "24",\n\t\t"origin": "16483"\n\t},\n' +
    '\t{ "prefix": "2001:610::", "length": "29", "maxlen": "29", "origin": "1103" }\n]\n';
  const t = parseTableText(text);
  assert.equal(t.dialect, "rtrlib");
  assert.deepEqual(vrpList(text), ["1.16.0.0/16 24 16483", "2001:610::/29 29 1103"]);
});

Deno.test("parseTableText() reads rpki-client CSV with and without AS prefix", () => {
  const text = "ASN,IP Prefix,Max Length,Trust Anchor,Expires\r\n" +
    "AS13335,1.1.1.0/24,24,apnic,1790000000\r\n13335,2606:4700::/32,48,arin,1\r\n";
  const t = parseTableText(text);
  assert.equal(t.dialect, "rpki-client-csv");
  assert.deepEqual(vrpList(text), ["1.1.1.0/24 24 13335", "2606:4700::/32 48 13335"]);
  assert.deepEqual(vrpList("AS1,10.0.0.0/8,8,\n"), ["10.0.0.0/8 8 1"]);
});

Deno.test("parseTableText() reads RTRlib CSV and fixes its negative ASNs", () => {
  const text = "prefix, minlen, maxlen, asn\n1.0.0.0, 24, 24, 13335\n10.0.0.0, 8, 8, -94967296\n";
  const t = parseTableText(text);
  assert.equal(t.dialect, "rtrlib-csv");
  assert.deepEqual(vrpList(text), ["1.0.0.0/24 24 13335", "10.0.0.0/8 8 4200000000"]);
  assert.equal(t.warnings.length, 1);
  assert.deepEqual(vrpList("1.0.0.0, 24, 24, 13335\n"), ["1.0.0.0/24 24 13335"]);
});

Deno.test("parseTableText() reads our NDJSON, skips sync records and keeps the last as metadata", () => {
  const text = [
    '{"type":"vrp","action":"announce","prefix":"192.0.2.0/24","maxLength":24,"asn":64496}',
    '{"type":"routerKey","action":"announce","asn":64498,"ski":"510f485d29a29db7b515f9c478f8ed3cb7aa7d23","pubkey":"AAAA"}',
    '{"type":"aspa","action":"announce","customer_asid":64500,"providers":[64502,64501]}',
    '{"type":"sync","serial":7,"sessionId":1,"reset":true}',
    "",
  ].join("\n");
  const t = parseTableText(text);
  assert.equal(t.dialect, "ndjson");
  assert.deepEqual(tableCounts(t.table), {
    vrps: 1,
    vrpsIpv4: 1,
    vrpsIpv6: 0,
    routerKeys: 1,
    aspas: 1,
  });
  assert.deepEqual(t.table.aspas, [{ customer: 64500, providers: [64501, 64502] }]);
  assert.deepEqual(t.metadata, { serial: 7, sessionId: 1, reset: true });
});

Deno.test("parseTableText() rejects a withdraw record in an NDJSON full table", () => {
  const text =
    '{"type":"vrp","action":"announce","prefix":"192.0.2.0/24","maxLength":24,"asn":1}\n' +
    '{"type":"vrp","action":"withdraw","prefix":"192.0.2.0/24","maxLength":24,"asn":1}\n';
  assert.throws(() => parseTableText(text, "t.ndjson"), {
    name: "InputError",
    message:
      "Cannot read t.ndjson: line 2: vrp withdraw record in a full table, expected announce only",
  });
});

Deno.test("parseTableText() masks host bits with a warning and canonicalises IPv6", () => {
  const t = parseTableText(
    JSON.stringify({
      roas: [
        { asn: 1, prefix: "192.0.2.77/24", maxLength: 24 },
        { asn: 2, prefix: "2001:DB8:0:0::1/32", maxLength: 48 },
      ],
    }),
    "x.json",
  );
  assert.deepEqual([...t.table.vrps].map((v) => v.prefix), ["192.0.2.0/24", "2001:db8::/32"]);
  assert.deepEqual(t.warnings, [
    "x.json: 2 prefix(es) had host bits set and were masked (first: roas[0] 192.0.2.77/24)",
  ]);
});

Deno.test("parseTableText() takes a missing maxLength as the prefix length", () => {
  assert.deepEqual(vrpList('{"roas":[{"asn":1,"prefix":"10.0.0.0/8"}]}'), ["10.0.0.0/8 8 1"]);
});

Deno.test("parseTableText() merges duplicate VRPs with a warning", () => {
  const t = parseTableText(
    '{"roas":[{"asn":1,"prefix":"10.0.0.0/8","maxLength":8,"ta":"a"},{"asn":"AS1","prefix":"10.0.0.0/8","maxLength":8,"ta":"b"}]}',
    "d.json",
  );
  assert.equal(t.table.vrps.size, 1);
  assert.deepEqual(t.warnings, ["d.json: 1 duplicate VRP(s) merged"]);
});

Deno.test("parseTableText() rejects invalid entries with one line naming file and entry", () => {
  const cases: [string, string][] = [
    [
      '{"roas":[{"asn":1,"prefix":"10.0.0.0/8","maxLength":8},{"asn":1,"prefix":"10.0.0.0/24","maxLength":23}]}',
      "Cannot read f: roas[1]: maxLength is 23, expected 24..32 for 10.0.0.0/24",
    ],
    [
      '{"roas":[{"asn":1,"prefix":"10.0.0.0/24","maxLength":33}]}',
      "Cannot read f: roas[0]: maxLength is 33, expected 24..32 for 10.0.0.0/24",
    ],
    [
      '{"roas":[{"asn":1,"prefix":"2001:db8::/32","maxLength":129}]}',
      "Cannot read f: roas[0]: maxLength is 129, expected 32..128 for 2001:db8::/32",
    ],
    [
      '{"roas":[{"asn":4294967296,"prefix":"10.0.0.0/8"}]}',
      "Cannot read f: roas[0]: asn is 4294967296, expected an AS number 0..4294967295",
    ],
    [
      '{"roas":[{"asn":"ASx","prefix":"10.0.0.0/8"}]}',
      'Cannot read f: roas[0]: asn is "ASx", expected an AS number 0..4294967295',
    ],
    [
      '{"roas":[{"asn":-1,"prefix":"10.0.0.0/8"}]}',
      "Cannot read f: roas[0]: asn is -1, expected an AS number 0..4294967295",
    ],
    [
      '{"roas":[{"asn":1,"prefix":"10.0.0/8"}]}',
      'Cannot read f: roas[0]: prefix is "10.0.0/8", expected ADDRESS/LENGTH',
    ],
    [
      '{"roas":[{"asn":1,"prefix":"010.0.0.0/8"}]}',
      'Cannot read f: roas[0]: prefix is "010.0.0.0/8", expected ADDRESS/LENGTH',
    ],
    [
      '{"roas":[{"asn":1,"prefix":"10.0.0.0/33"}]}',
      'Cannot read f: roas[0]: prefix is "10.0.0.0/33", expected ADDRESS/LENGTH',
    ],
    [
      '{"roas":[],"bgpsec_keys":[{"asn":1,"ski":"12","pubkey":"AAAA"}]}',
      'Cannot read f: bgpsec_keys[0]: ski is "12", expected 40 hex digits',
    ],
    [
      "AS1,10.0.0.0/8,8,\nAS1,10.0.0.0/8,x,\n",
      'Cannot read f: line 2: maxLength is "x", expected 8..32 for 10.0.0.0/8',
    ],
    [
      '{"metadata":{}}',
      "Cannot read f: no roas, bgpsec_keys, aspas or provider_authorizations, expected a VRP table",
    ],
    ['{"roas":[', "Cannot read f: not valid JSON"],
    ["  \n", "Cannot read f: the file is empty, expected a VRP table"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseTableText(text, "f"), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.ok(e.message.startsWith(message), `${e.message}\n  expected ${message}`);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("readTableFile() loads every shared fixture (the invalid ASPA one with a clear error)", async () => {
  if (!requireSharedData("fixtures")) return;
  const want: Record<string, [string, number, number, number]> = {
    "apnic-rpki-rtr-demo_t_rpki.json": ["rpki-client", 7, 1, 3],
    "arouteserver_rpki_aspas_ntt.json": ["rpki-client", 1, 0, 3],
    "arouteserver_rpki_aspas_ripe.json": ["routinator", 1, 0, 4],
    "arouteserver_rpki_roas_rpki-client_expired.json": ["rpki-client", 1, 0, 0],
    "rtrtr_test-data_vrps.json": ["routinator", 2, 0, 0],
    "rtrtr_test-data_vrps.rpki-client.json": ["rpki-client", 2, 1, 0],
    "stayrtr_cmd-stayrtr_smalltest.rpki.json": ["rpki-client", 2, 0, 0],
    "stayrtr_cmd-stayrtr_test.rpki.json": ["stayrtr", 19, 3, 2],
  };
  const seen: string[] = [];
  for await (const e of Deno.readDir(FIXTURES)) {
    seen.push(e.name);
    const path = FIXTURES + e.name;
    if (e.name === "arouteserver_rpki_aspas_invalid.json") {
      await assert.rejects(readTableFile(path), {
        name: "InputError",
        message: `Cannot read ${path}: aspas[1]: customer_asid is missing`,
      });
      continue;
    }
    const w = want[e.name];
    assert.ok(w, `no expectation for fixture ${e.name}`);
    const t = await readTableFile(path);
    const c = tableCounts(t.table);
    assert.deepEqual([t.dialect, c.vrps, c.routerKeys, c.aspas], w, e.name);
  }
  assert.equal(seen.length, Object.keys(want).length + 1);
});

Deno.test("readTableFile() reads the ripe ASPA fixture: string ASNs and an empty provider list", async () => {
  if (!requireSharedData("fixtures")) return;
  const t = await readTableFile(FIXTURES + "arouteserver_rpki_aspas_ripe.json");
  assert.deepEqual(t.table.aspas, [
    { customer: 43, providers: [293] },
    { customer: 3333, providers: [1103, 25152] },
    { customer: 3334, providers: [1103] },
    { customer: 3335, providers: [] },
  ]);
});

Deno.test("readTableFile() gunzips the 2017 weekly sets with the right counts", async () => {
  if (!requireSharedData("vrps_2017_weekly")) return;
  const names = [...Deno.readDirSync(WEEKLY)].map((e) => e.name).filter((n) => n.endsWith(".gz"))
    .sort();
  assert.equal(names.length, 11);
  const sizes: number[] = [];
  for (const n of names) {
    const t = await readTableFile(WEEKLY + n);
    assert.equal(t.table.vrps.size, t.metadata.vrps, n);
    assert.deepEqual(t.warnings, [], n);
    sizes.push(t.table.vrps.size);
  }
  assert.equal(sizes[0], 38575);
  assert.equal(sizes[9], 75300);
});

Deno.test("readTableFile() names a missing file in one line", async () => {
  await assert.rejects(readTableFile("/nonexistent/table.json"), {
    name: "InputError",
    message: "Cannot read /nonexistent/table.json: no such file",
  });
});
