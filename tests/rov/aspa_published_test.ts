/**
 * AS_PATH verification against the published test cases of three implementations (the facts:
 * records, paths and expected verdicts, transcribed; the code is ours). Paths are written in BGP
 * order, neighbour first and origin last, as every one of these sources builds them. Where a
 * source disagrees with draft-ietf-sidrops-aspa-verification-19 we follow the draft and say so at
 * the case.
 */
import assert from "node:assert/strict";
import {
  ASPA_STATES,
  AspaIndex,
  DOWNSTREAM,
  HOP_NO_ATTESTATION,
  HOP_NOT_PROVIDER,
  HOP_PROVIDER,
  HOP_RESULTS,
  UPSTREAM,
} from "../../lib/rov/mod.ts";

type Case = [path: number[], procedure: "up" | "down", expected: "valid" | "unknown" | "invalid"];

/** An index from `[customer, providers]` pairs (repeated customers are merged, as RTRlib does). */
function table(recs: [number, number[]][]): AspaIndex {
  return new AspaIndex(recs.map(([customer, providers]) => ({ customer, providers })));
}

function check(ix: AspaIndex, cases: Case[], source: string): void {
  for (const [p, proc, want] of cases) {
    const procedure = proc === "up" ? UPSTREAM : DOWNSTREAM;
    const fast = ASPA_STATES[ix.verifyState(p, p.length, procedure, -1)];
    const slow = ASPA_STATES[ix.explain(p, p.length, { procedure, neighbourAs: -1 }).state];
    assert.equal(fast, want, `${source}: [${p.join(" ")}] ${proc}stream`);
    assert.equal(slow, want, `${source}: [${p.join(" ")}] ${proc}stream (explain)`);
  }
}

// --- RTRlib -----------------------------------------------------------------------------------
// Source: rtrlib/rtrlib tests/test_as_path_verification.c
// @ ed3393bb7428ed6e4d866d18d781e2774a246d11 (itself derived from netd-tud/IETF-ASPA
// ietf-hackathon/tests.py). RECORD(x, ASNS()) is a record with no providers.

const RTRLIB_TABLE: [number, number[]][] = [
  [100, [200, 201]],
  [200, [300]],
  [300, [400]],
  [400, [500]],
  [501, [601]],
  [401, [501]],
  [301, [401]],
  [201, [301]],
  [502, [602]],
  [402, [502]],
  [302, [402]],
  [202, [302]],
  // 103 --> 203 <--> 303 <--> 403 <-- 304
  [103, [203]],
  [203, [303]],
  [303, [203, 403]],
  [403, [303]],
  [304, [403]],
  // a second socket's record for 100: the union counts
  [100, [200, 202]],
];

Deno.test("RTRlib test_hopping: the hop check, with two records of one customer", () => {
  const ix = table(RTRLIB_TABLE);
  const cases: [number, number, number][] = [
    [100, 200, HOP_PROVIDER],
    [200, 100, HOP_NOT_PROVIDER],
    [200, 300, HOP_PROVIDER],
    [500, 999, HOP_NO_ATTESTATION],
    [999, 999, HOP_NO_ATTESTATION],
    [100, 201, HOP_PROVIDER],
    [100, 202, HOP_PROVIDER],
  ];
  for (const [c, p, want] of cases) assert.equal(HOP_RESULTS[ix.hop(c, p)], HOP_RESULTS[want]);
});

Deno.test("RTRlib test_upstream and test_downstream", () => {
  const ix = table(RTRLIB_TABLE);
  check(ix, [
    // RTRlib says an empty path is Valid; the draft (and OpenBGPD) say Invalid: we follow the
    // draft.
    [[], "up", "invalid"],
    [[100], "up", "valid"],
    [[200, 100], "up", "valid"],
    [[300, 200], "up", "valid"],
    [[300, 200, 100], "up", "valid"],
    [[999, 100], "up", "invalid"],
    [[300, 999, 100], "up", "invalid"],
    [[999, 999, 100], "up", "invalid"],
    [[999, 100, 999], "up", "invalid"],
    [[999, 500, 400, 300], "up", "unknown"],
  ], "RTRlib test_upstream");
  check(ix, [
    [[999], "down", "valid"],
    [[998, 999], "down", "valid"],
    [[300, 400, 500], "down", "valid"],
    [[500, 400, 300], "down", "valid"],
    [[300, 400, 500, 400, 300], "down", "valid"],
    [[302, 402, 502, 500, 400, 300], "down", "valid"],
    // RTRlib: Invalid ("two highest-level hops are nP"). The draft: up-ramp 302 402 502
    // (maxUpRamp 3), down-ramp 501 401 301 (maxDownRamp 3), 3 + 3 = N: 502-501 is the one lateral
    // hop a path may have, so Valid. We follow the draft.
    [[301, 401, 501, 502, 502, 402, 302], "down", "valid"],
    [[302, 402, 502, 999, 500, 400, 300], "down", "unknown"],
    [[999, 500, 400, 300], "down", "valid"],
    [[300, 400, 500, 999], "down", "valid"],
    [[999, 502, 402, 302], "down", "valid"],
    [[302, 402, 502, 999], "down", "valid"],
    [[999, 300, 400, 500], "down", "unknown"],
    [[100, 300, 400, 500], "down", "invalid"],
    [[500, 400, 300, 999], "down", "unknown"],
    [[500, 400, 300, 100], "down", "invalid"],
    [[400, 300, 200, 502, 402, 302], "down", "invalid"],
    [[200, 300, 400, 302, 402, 502], "down", "invalid"],
    [[400, 300, 200, 302, 402, 502], "down", "invalid"],
    [[304, 403, 303, 203, 103], "down", "valid"],
    [[20, 30, 90, 40, 70, 80], "down", "unknown"],
  ], "RTRlib test_downstream");
});

Deno.test("RTRlib test_verify_example_1 … 18 and test_sriram_example_19", () => {
  const examples: [string, [number, number[]][], Case[]][] = [
    ["1", [[80, [70]], [70, [40]], [20, [30]]], [[[20, 30, 40, 70, 80], "down", "valid"]]],
    ["2", [[80, [70]], [70, [40]], [20, [30]], [90, [30, 40]]], [
      [[20, 30, 90, 40, 70, 80], "down", "unknown"],
    ]],
    ["2b", [[80, [70]], [70, [40]], [20, [30]], [90, [30, 40]], [30, []], [40, []]], [
      [[20, 30, 90, 40, 70, 80], "down", "invalid"],
    ]],
    ["3a", [[80, [70]], [70, [40]], [20, [30]]], [[[20, 30, 90, 40, 70, 80], "down", "unknown"]]],
    ["3b", [[80, [70]], [70, [40]], [20, [30]]], [
      [[20, 30, 90, 100, 40, 70, 80], "down", "unknown"],
    ]],
    ["3c", [[80, [70]], [70, [40]], [20, [30]], [30, []], [40, []]], [
      [[20, 30, 90, 100, 40, 70, 80], "down", "invalid"],
    ]],
    ["3d", [[80, [70]], [70, [90]], [20, [30]], [30, []], [40, []]], [
      [[20, 30, 40, 100, 90, 70, 80], "down", "unknown"],
    ]],
    ["3f", [[80, [70]], [70, [90]], [20, [30]], [100, []], [40, []]], [
      [[20, 30, 40, 100, 90, 70, 80], "down", "unknown"],
    ]],
    ["4", [[70, [80]]], [[[20, 30, 40, 50, 60, 70, 80], "up", "invalid"]]],
    ["4-fixed", [[70, [80]], [60, [70]], [30, [20]]], [
      [[20, 30, 40, 50, 60, 70, 80], "up", "invalid"],
    ]],
    ["5", [[40, [30]], [30, [20]]], [[[20, 30, 40], "up", "valid"]]],
    ["6", [
      [120, [110]],
      [110, [100]],
      [100, [90]],
      [80, [90]],
      [60, [50]],
      [40, [50]],
      [30, [40]],
      [20, [30]],
    ], [
      // RTRlib: Unknown ("no nP+ between the two ramps"). The draft: 80 does not list 70 as a
      // provider (maxUpRamp 5: 120 … 80) and neither does 60 (maxDownRamp 5: 60 … 20), 5 + 5 < 11:
      // AS70 sits between two lateral hops, so Invalid. We follow the draft.
      [[20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120], "down", "invalid"],
    ]],
    ["7", [
      [20, [30]],
      [30, [40]],
      [40, [50]],
      [80, [90]],
      [90, [100]],
      [110, [100]],
      [120, [110]],
      [130, [120]],
      [140, [130]],
    ], [[[20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140], "down", "unknown"]]],
    ["8", [], [[[20], "down", "valid"]]],
    ["9", [], [[[20], "up", "valid"]]],
    ["11", [[20, []], [30, []]], [[[20, 30], "down", "valid"]]],
    ["12", [], [[[20, 30], "up", "unknown"]]],
    ["13", [[60, [50]], [50, []], [40, [30]], [30, [20]], [20, []]], [
      [[20, 30, 40, 50, 60], "up", "invalid"],
    ]],
    ["14", [[60, [50]], [50, [40, 60]], [40, [30, 50]], [30, [40]], [20, [30]]], [
      [[20, 30, 40, 50, 60], "up", "invalid"],
    ]],
    ["15", [[60, [50, 20]], [50, [40, 60]], [40, [30, 50]], [30, [40]], [20, [30]]], [
      [[20, 30, 40, 50, 60], "up", "invalid"],
    ]],
    ["16", [[10, [20]], [20, [100]], [40, [30]]], [[[10, 20, 30, 40], "up", "invalid"]]],
    ["17", [[10, [20]], [20, [100]], [40, [30, 50]], [50, [40]]], [
      [[10, 20, 30, 40], "up", "invalid"],
    ]],
    ["18", [[20, []]], [[[30, 20, 40], "up", "invalid"]]],
    ["19 (Sriram)", [[1, [3, 4]], [2, [5]], [3, [6]], [4, [6, 7]], [7, [0]]], [
      [[6, 3, 1], "up", "valid"],
      [[4, 3, 1], "up", "invalid"],
      [[4, 6, 3, 1], "up", "unknown"],
      [[4, 5, 2], "up", "unknown"],
      [[1, 4, 5, 2], "up", "invalid"],
      [[1, 4, 7, 5, 2], "up", "invalid"],
      [[1, 3, 6], "up", "invalid"],
      [[1, 3, 6, 7], "up", "invalid"],
      [[5, 2], "up", "valid"],
      [[5, 7, 6, 3, 1], "down", "unknown"],
      [[5, 7, 4, 1], "down", "valid"],
      [[5, 4, 3, 1], "down", "unknown"],
      [[5, 7, 4, 3, 1], "down", "invalid"],
      [[3, 6, 4, 7], "down", "unknown"],
      [[4, 7, 5, 2], "down", "valid"],
      [[3, 4, 7, 5, 2], "down", "invalid"],
      [[6, 3, 1], "down", "valid"],
      [[5, 1], "down", "valid"],
      [[5, 3, 1], "down", "valid"],
    ]],
  ];
  for (const [name, recs, cases] of examples) check(table(recs), cases, `RTRlib example ${name}`);
});

Deno.test("RTRlib test_collapse: prepends collapse (seen through explain's collapsed path)", () => {
  const ix = table([]);
  const cases: [number[], number[]][] = [
    [[1], [1]],
    [[1, 1], [1]],
    [[1, 2], [1, 2]],
    [[1, 1, 1], [1]],
    [[1, 1, 2], [1, 2]],
    [[1, 2, 2], [1, 2]],
    [[1, 2, 2, 2], [1, 2]],
    [[1, 2, 2, 3], [1, 2, 3]],
  ];
  for (const [input, output] of cases) {
    const e = ix.explain(input, input.length, { procedure: UPSTREAM, neighbourAs: -1 });
    // explain keeps the collapsed path origin first; RTRlib's keeps the input's order.
    assert.deepEqual([...e.seq.subarray(0, e.n)].reverse(), output, input.join(" "));
  }
});

// --- BIRD -------------------------------------------------------------------------------------
// Source: CZ-NIC/bird filter/test.conf @ 639423360c8006aef492a25444535320a882a8b3, t_aspa_check
// and t_aspa_check_official (the latter from ksriram25/IETF ASPA_path_verification_examples.pdf,
// the draft authors' examples). `route aspa X transit` is a record with AS0 only;
// `aspa_check(t, p, true)` is upstream. Paths are built with prepend(), so the last one prepended
// comes first.

Deno.test("BIRD t_aspa_check (our tests, in BIRD's words)", () => {
  const ix = table([
    [65540, [65544, 65549]],
    [65541, [65545]],
    [65542, [65544, 65545]],
    [65543, [65544, 65545]],
    [65544, [0]],
    [65545, [0]],
    [65550, [65540]],
    [65551, [65543]],
  ]);
  const both = (p: number[], down: Case[2], up: Case[2]): Case[] => [[p, "down", down], [
    p,
    "up",
    up,
  ]];
  check(ix, [
    ...both([65544, 65540], "valid", "valid"),
    ...both([65542, 65544, 65540], "valid", "invalid"),
    ...both([65555, 65542, 65544, 65540], "unknown", "invalid"),
    ...both([65545, 65541, 65554], "unknown", "unknown"),
    ...both([65543, 65545, 65541, 65554], "unknown", "invalid"),
    ...both([65544, 65541], "valid", "invalid"),
    ...both([65544, 65540], "valid", "valid"),
    ...both([65545, 65544, 65540], "valid", "invalid"),
    ...both([65555, 65545, 65544, 65540], "unknown", "invalid"),
    ...both([65549, 65540, 65550], "valid", "valid"),
  ], "BIRD t_aspa_check");
});

Deno.test("BIRD t_aspa_check_official (the draft authors' examples)", () => {
  const [A, B, C, D, E, F, G] = [65541, 65542, 65543, 65544, 65545, 65546, 65547];
  const [H, J, K, P, Q, R] = [65548, 65549, 65550, 65552, 65553, 65554];
  const ix = table([
    [65541, [65543, 65544]],
    [65542, [65545]],
    [65543, [65546]],
    [65544, [65546, 65547]],
    [65547, [0]],
    [65548, [0]],
    [65550, [0]],
    [65551, [65550]],
    [65552, [0]],
    [65553, [0]],
    [65554, [65553]],
    [65555, [65554]],
  ]);
  check(ix, [
    // Examples of upstream path verification
    [[F, C, A], "up", "valid"],
    [[G, D, C, A], "up", "invalid"],
    [[G, D, F, C, A], "up", "unknown"],
    [[D, E, B], "up", "unknown"],
    [[C, A, D, E, B], "up", "invalid"],
    [[C, A, D, G, E, B], "up", "invalid"],
    [[D, A, C, F], "up", "invalid"],
    [[D, A, C, F, G], "up", "invalid"],
    [[E, B], "up", "valid"],
    // Examples of downstream path verification
    [[E, G, F, C, A], "down", "unknown"],
    [[E, G, D, A], "down", "valid"],
    [[E, D, C, A], "down", "unknown"],
    [[E, G, D, C, A], "down", "invalid"],
    [[C, F, D, G], "down", "unknown"],
    [[D, G, E, B], "down", "valid"],
    [[C, D, G, E, B], "down", "invalid"],
    [[F, C, A], "down", "valid"],
    // Topology with complex BGP relationships
    [[J, H], "up", "invalid"],
    [[K, J, H], "down", "invalid"],
    [[Q, P], "up", "invalid"],
    [[Q, P], "down", "valid"],
    [[R, Q, P], "down", "valid"],
  ], "BIRD t_aspa_check_official");
});

// --- OpenBGPD ---------------------------------------------------------------------------------
// Source: openbsd/src regress/usr.sbin/bgpd/unittests/rde_aspa_test.c rev 1.3 (commit
// 0f5e1a03e1205ad6c8fa4b5fbb37b02abf67a282), AID_INET cases (AS196618's per-AFI record left out).
// Roles: every verdict fits the draft when the ROLE_CUSTOMER cases are verified downstream and the
// ROLE_PROVIDER, ROLE_PEER and ROLE_RS_CLIENT ones upstream, i.e. when the role is the local
// side's towards the neighbour (RFC 9234: a speaker announces its own role; "customer" = the
// neighbour is our provider). Read the other way round, [3 8] PROVIDER INVALID and [4 8]
// CUSTOMER VALID would both contradict the draft.

const OPENBGPD_TABLE: [number, number[]][] = [
  [1, [4, 5, 6]],
  [2, [10, 11]],
  [3, [1, 13, 14]],
  [4, [16, 24]],
  [5, [1, 17, 25]],
  [8, [0]],
  [9, [2]],
  [10, [0]],
  [11, [2]],
  [12, [3]],
  [13, [0]],
  [14, [3, 25]],
  [15, [4]],
  [16, [4]],
  [17, [5]],
  [18, [6]],
  [20, [19]],
  [21, [0]],
  [23, [22]],
  [24, [0]],
  [25, [0]],
  [26, [5]],
  [27, [14]],
  // The set of slides-110-sidrops-sriram-aspa-alg-accuracy-01
  [101, [102]],
  [102, [103, 104, 105]],
  [103, [111, 112, 203]],
  [105, [0]],
  [112, [0]],
  [113, [104, 105, 204, 205]],
  [121, [131, 132, 133]],
  [123, [0]],
  [131, [121, 122, 123]],
  [133, [0]],
  [201, [202]],
  [202, [203, 204, 205]],
  [203, [103, 111, 112]],
  [205, [0]],
  [
    65000,
    [3, 5, 10, 15, 20, 21, 22, 23, 24, 25, 30, 35, 40, 45, 50, 51, 52, 53, 54, 55, 60, 65]
      .concat([70, 75, 80, 81, 82, 83, 87, 90]),
  ],
];

Deno.test("OpenBGPD rde_aspa_test: hop lookups", () => {
  const ix = table(OPENBGPD_TABLE);
  const none: [number, number][] = [[6, 1], [42, 1]];
  const notProvider: [number, number][] = [
    [1, 2],
    [1, 3],
    [1, 7],
    [5, 2],
    [5, 16],
    [5, 18],
    [5, 24],
    [5, 26],
    [8, 2],
    [9, 5],
    [27, 13],
    [27, 15],
    ...[1, 2, 4, 19, 26, 85, 86, 88, 89, 91, 92, 6666].map((p): [number, number] => [65000, p]),
  ];
  const provider: [number, number][] = [
    [1, 4],
    [1, 5],
    [1, 6],
    [2, 10],
    [2, 11],
    [9, 2],
    [27, 14],
    ...[3, 5, 15, 20, 21, 22, 23, 24, 25, 87, 90].map((p): [number, number] => [65000, p]),
  ];
  for (const [c, p] of none) assert.equal(ix.hop(c, p), HOP_NO_ATTESTATION, `${c} ${p}`);
  for (const [c, p] of notProvider) assert.equal(ix.hop(c, p), HOP_NOT_PROVIDER, `${c} ${p}`);
  for (const [c, p] of provider) assert.equal(ix.hop(c, p), HOP_PROVIDER, `${c} ${p}`);
});

Deno.test("OpenBGPD rde_aspa_test: path verdicts by role", () => {
  const ix = table(OPENBGPD_TABLE);
  // OpenBGPD role -> procedure: CUSTOMER down; PROVIDER, PEER, RS_CLIENT up (see above).
  const up = (p: number[], want: Case[2]): Case => [p, "up", want];
  const down = (p: number[], want: Case[2]): Case => [p, "down", want];
  check(ix, [
    up([], "invalid"),
    down([], "invalid"),
    up([2], "valid"),
    up([3], "valid"),
    down([4], "valid"),
    down([5], "valid"),
    down([6], "valid"),
    up([7], "valid"),
    up([2, 8], "invalid"),
    up([2, 9], "valid"),
    up([2, 10], "invalid"),
    up([2, 11], "valid"),
    up([3, 8], "invalid"),
    up([3, 12], "valid"),
    up([3, 13], "invalid"),
    up([3, 14], "valid"),
    down([4, 8], "valid"),
    down([4, 15], "valid"),
    down([4, 16], "valid"),
    down([4, 24], "valid"),
    down([5, 8], "valid"),
    down([5, 17], "valid"),
    down([5, 25], "valid"),
    down([5, 26], "valid"),
    down([6, 18], "valid"),
    down([6, 19], "valid"),
    up([7, 19], "unknown"),
    up([7, 21], "invalid"),
    down([6, 19, 20], "valid"),
    down([20, 19, 6], "valid"),
    up([3, 14, 25], "invalid"),
    up([3, 14, 19], "unknown"),
    up([3, 14, 21], "invalid"),
    up([3, 14, 27], "valid"),
    up([7, 19, 22, 21], "invalid"),
    down([6, 19, 22, 23], "unknown"),
    down([1, 5, 17, 13, 3, 14, 27], "valid"),
    down([27, 14, 3, 13, 17, 5, 1], "valid"),
    down([27, 14, 3, 6, 7, 19, 17, 5, 1], "invalid"),
    down([27, 14, 3, 7, 19, 6, 1, 5, 17], "unknown"),
    // ramps overlap (L < K)
    down([201, 202, 203, 103, 102, 101], "valid"),
    down([101, 102, 103, 203, 202, 201], "valid"),
    // ramps touch
    down([201, 202, 203, 111, 103, 102, 101], "valid"),
    down([101, 102, 103, 111, 203, 202, 201], "valid"),
    down([201, 202, 203, 112, 103, 102, 101], "valid"),
    down([101, 102, 103, 112, 203, 202, 201], "valid"),
    // L - K = 1
    down([201, 202, 204, 104, 102, 101], "valid"),
    down([201, 202, 204, 105, 102, 101], "valid"),
    down([201, 202, 205, 104, 102, 101], "valid"),
    down([201, 202, 205, 105, 102, 101], "valid"),
    // L - K = 2, invalid
    down([201, 202, 205, 111, 105, 102, 101], "invalid"),
    down([201, 202, 205, 112, 105, 102, 101], "invalid"),
    down([201, 202, 205, 113, 105, 102, 101], "invalid"),
    // L - K = 2, unknown
    ...[
      [201, 202, 205, 111, 104, 102, 101],
      [201, 202, 204, 111, 105, 102, 101],
      [201, 202, 204, 111, 104, 102, 101],
      [201, 202, 205, 112, 104, 102, 101],
      [201, 202, 204, 112, 105, 102, 101],
      [201, 202, 204, 112, 104, 102, 101],
      [201, 202, 205, 113, 104, 102, 101],
      [201, 202, 204, 113, 105, 102, 101],
      [201, 202, 204, 113, 104, 102, 101],
    ].map((p) => down(p, "unknown")),
  ], "OpenBGPD rde_aspa_test");
});
