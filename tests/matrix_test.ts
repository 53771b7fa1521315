import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import {
  caseId,
  inShard,
  matchesFilter,
  paramsOfCaseId,
  parseFilter,
  sameFilter,
} from "../matrix/case_id.ts";
import {
  expandMatrix,
  loadMatrix,
  thdMoreQueriesThanKeys,
  validateMatrix,
} from "../matrix/expand.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { keyLengths, layoutOfCase } from "../runner/case_request.ts";
import { runCli } from "./helpers_cli.ts";

function matrixError(raw: unknown): ConfigError {
  try {
    expandMatrix(validateMatrix(raw, "m.json"), "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

Deno.test("case ids use a fixed key order and omit rare keys at their defaults", () => {
  const id = caseId({
    ...CASE_DEFAULTS,
    preset: "deepseek-v2-lite",
    dtype: "f16",
    b: 4,
    sk: 4096,
    layout: "thd",
  });
  assert.equal(
    id,
    "preset=deepseek-v2-lite;path=absorbed;dtype=f16;b=4;sq=1;sk=4096;layout=thd;causal=1",
  );
  assert.equal(
    caseId({ ...CASE_DEFAULTS, heads: 3, splits: 2 }),
    "preset=tiny;heads=3;path=absorbed;dtype=f32;b=1;sq=1;sk=16;layout=bshd;causal=1;splits=2",
  );
});

Deno.test("reordering axes and groups in a file does not change ids", () => {
  const a = expandMatrix(
    validateMatrix({
      name: "a",
      groups: [{ axes: { dtype: ["f32", "f16"], preset: "tiny", sq: [1, 2] } }],
    }, "a"),
    "a",
  ).map((c) => c.id).sort();
  const b = expandMatrix(
    validateMatrix({
      name: "b",
      groups: [{ axes: { sq: [2], preset: "tiny", dtype: ["f16", "f32"] } }, {
        axes: { preset: "tiny", sq: 1, dtype: ["f32", "f16"] },
      }],
    }, "b"),
    "b",
  ).map((c) => c.id).sort();
  assert.deepEqual(a, b);
  assert.equal(a.length, 4);
});

Deno.test("excludes drop matching combinations", () => {
  const cases = expandMatrix(
    validateMatrix({
      name: "m",
      groups: [{
        axes: { path: ["absorbed", "expanded"], sq: [1, 2, 4] },
        exclude: [{ path: "expanded", sq: [2, 4] }],
      }],
    }, "m"),
    "m",
  );
  assert.deepEqual(cases.map((c) => `${c.params.path}/${c.params.sq}`), [
    "absorbed/1",
    "absorbed/2",
    "absorbed/4",
    "expanded/1",
  ]);
});

Deno.test("filters select by any id key, with alternatives", () => {
  const f = parseFilter("preset=deepseek-v2-lite;dtype=f16,f32;causal=1");
  assert.ok(matchesFilter({ ...CASE_DEFAULTS, preset: "deepseek-v2-lite" }, f));
  assert.ok(!matchesFilter({ ...CASE_DEFAULTS, preset: "tiny" }, f));
  assert.ok(!matchesFilter({ ...CASE_DEFAULTS, preset: "deepseek-v2-lite", causal: false }, f));
  assert.throws(
    () => parseFilter("presett=x"),
    /filter key "presett" is unknown; valid keys: preset/,
  );
  assert.throws(() => parseFilter("preset"), /must look like key=value/);
});

Deno.test("an integer filter value with leading zeros selects what sameFilter says it does", async () => {
  // sk=020 passes the filter check (an integer in bounds) and sameFilter reads it as sk=20;
  // it must select sk 20's cases, not match no id and be refused as absent from the matrix
  assert.deepEqual(parseFilter("sk=020,4;b=02").get("sk"), ["20", "4"]);
  assert.ok(matchesFilter({ ...CASE_DEFAULTS, sk: 20, b: 2 }, parseFilter("sk=020;b=02")));
  assert.ok(sameFilter("sk=20", "sk=020"));
  const plain = await selectMatrixCases({ matrix: "smoke", filter: "sk=20" });
  const padded = await selectMatrixCases({ matrix: "smoke", filter: "sk=020" });
  assert.ok(plain.all.length > 0);
  assert.deepEqual(padded.all.map((c) => c.id), plain.all.map((c) => c.id));
});

Deno.test("shards partition the cases: every id in exactly one shard", async () => {
  const { cases } = await loadMatrix("smoke");
  for (const n of [2, 3, 5]) {
    const owners = cases.map((c) =>
      Array.from({ length: n }, (_, i) => i + 1).filter((i) =>
        inShard(c.id, { index: i, count: n })
      )
    );
    assert.ok(owners.every((o) => o.length === 1), `n=${n}`);
    const sizes = Array.from({ length: n }, (_, i) => owners.filter((o) => o[0] === i + 1).length);
    assert.ok(sizes.every((s) => s > 0), `every shard gets cases: ${sizes}`);
  }
});

Deno.test("bundled matrices load and have unique ids", async () => {
  for (const name of ["smoke", "nightly", "adapter"]) {
    const { cases } = await loadMatrix(name);
    assert.ok(cases.length > 0, name);
    assert.equal(new Set(cases.map((c) => c.id)).size, cases.length, name);
  }
});

const bad: [string, unknown, string][] = [
  ["unknown axis", { name: "m", groups: [{ axes: { dtpe: "f16" } }] }, "groups[0].axes.dtpe"],
  [
    "bad dtype value",
    { name: "m", groups: [{ axes: { dtype: ["f32", "bf16"] } }] },
    'groups[0].axes.dtype[1]: "bf16" must be one of f32, f16',
  ],
  [
    "zero batch",
    { name: "m", groups: [{ axes: { b: 0 } }] },
    "groups[0].axes.b[0]: 0 must be an integer from 1 to 4096",
  ],
  ["no groups", { name: "m", groups: [] }, "groups: [] must list at least one group"],
  ["missing name", { groups: [{ axes: {} }] }, "name: (missing) is required"],
  [
    "empty name",
    { name: "", groups: [{ axes: {} }] },
    'name: "" must not be empty or only spaces: a short name the reports title, e.g. "smoke"',
  ],
  [
    // a name of spaces was accepted, and the reports' titles read as nothing
    "name of only spaces",
    { name: "   ", groups: [{ axes: {} }] },
    'name: "   " must not be empty or only spaces: a short name the reports title, e.g. "smoke"',
  ],
  [
    "unknown device profile",
    { name: "m", groups: [{ axes: { device: "gpu9" } }] },
    'groups[0].axes.device[0]: "gpu9" is not a device profile',
  ],
  [
    // "native" is the adapter as probed: a profile of that name was silently never applied
    "device profile named native",
    {
      name: "m",
      devices: { native: { removeFeatures: ["shader-f16"] } },
      groups: [{ axes: { device: "native" } }],
    },
    'devices.native: {"removeFeatures":["shader-f16"]} is a reserved name',
  ],
  [
    // a profile setting nothing ran "native" again under another name, accepted silently
    "device profile that changes nothing",
    {
      name: "m",
      devices: { same: { removeFeatures: [], limits: {} } },
      groups: [{ axes: { device: ["native", "same"] } }],
    },
    'devices.same: {"removeFeatures":[],"limits":{}} changes nothing (no removeFeatures, ' +
    "limits or loopIterationBudget)",
  ],
  [
    // a profile no group names ran none of its cases, accepted silently
    "device profile no group names",
    {
      name: "m",
      devices: { "no-f16": { removeFeatures: ["shader-f16"] } },
      groups: [{ axes: { device: "native" } }],
    },
    'devices.no-f16: {"removeFeatures":["shader-f16"]} is named by no group\'s device axis, ' +
    "so none of its cases would run",
  ],
  [
    // an integer >= 0, but not a safe one: the message said "must be an integer >= 0"
    "seed past the safe integers",
    { name: "m", seed: 1e20, groups: [{ axes: {} }] },
    "seed: 100000000000000000000 must be an integer from 0 to 9007199254740991 (a safe integer)",
  ],
  [
    "bad expect",
    { name: "m", groups: [{ axes: {}, expect: { support: "maybe" } }] },
    "groups[0].expect.support",
  ],
  // zod's own "Invalid input: expected array, received object" named no valid form
  [
    "exclude given as an object",
    { name: "m", groups: [{ axes: { dtype: ["f32", "f16"] }, exclude: { dtype: "f16" } }] },
    'groups[0].exclude: {"dtype":"f16"} must be a list of exclude objects, each naming axis ' +
    'values whose cases are left out, e.g. [{"path": "expanded", "sq": 2}]',
  ],
  [
    "expect.codes given as a string",
    {
      name: "m",
      groups: [{ axes: {}, expect: { support: "unsupported", codes: "dtype.f16-unavailable" } }],
    },
    'groups[0].expect.codes: "dtype.f16-unavailable" must be a list of strings: reason codes ' +
    '(or, for "invalid", fragments of the message), e.g. ["dtype.f16-unavailable"]',
  ],
  [
    "expect.codes holding a number",
    { name: "m", groups: [{ axes: {}, expect: { support: "unsupported", codes: [5] } }] },
    "groups[0].expect.codes[0]: 5 must be a string: a reason code or a message fragment",
  ],
  [
    "loopIterationBudget not an integer",
    {
      name: "m",
      devices: { d: { loopIterationBudget: 1.5 } },
      groups: [{ axes: { device: "d" } }],
    },
    "devices.d.loopIterationBudget: 1.5 must be a positive integer, the loop iterations a " +
    "shader may run (e.g. 65535; at most 9007199254740991), or null for no budget",
  ],
  [
    "loopIterationBudget of 0",
    { name: "m", devices: { d: { loopIterationBudget: 0 } }, groups: [{ axes: { device: "d" } }] },
    "devices.d.loopIterationBudget: 0 must be a positive integer",
  ],
  [
    "removeFeatures given as a string",
    {
      name: "m",
      devices: { d: { removeFeatures: "shader-f16" } },
      groups: [{ axes: { device: "d" } }],
    },
    'devices.d.removeFeatures: "shader-f16" must be a list of WebGPU feature names, e.g. ' +
    '["shader-f16"]',
  ],
  [
    "duplicate case",
    { name: "m", groups: [{ axes: { sq: 1 } }, { axes: { sq: [1, 2] } }] },
    'groups[1]: "preset=tiny',
  ],
];
for (const [name, raw, message] of bad) {
  Deno.test(`malformed matrix: ${name}`, () => {
    const e = matrixError(raw);
    assert.ok(e.message.includes(message), e.message);
  });
}

Deno.test("malformed matrix file: a name of only spaces is exit 2 through run, naming the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({ name: "  ", groups: [{ axes: {} }] }),
    );
    const r = await runCli(["run", "--matrix", `${dir}/m.json`, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /m\.json: invalid matrix\n\s+name: " {2}" must not be empty or only spaces/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    await assert.rejects(() => Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("matrix: a loop budget of null or a positive integer, and lists where lists go, still load", () => {
  const m = validateMatrix({
    name: "m",
    devices: { a: { loopIterationBudget: null }, b: { loopIterationBudget: 65535 } },
    groups: [{
      axes: { device: ["a", "b"], dtype: ["f32", "f16"] },
      exclude: [{ dtype: "f16" }],
      expect: { support: "supported", codes: [] },
    }],
  }, "m.json");
  assert.equal(expandMatrix(m, "m.json").length, 2);
});

Deno.test("malformed matrix file: not JSON names the file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, "{ nope");
  await assert.rejects(
    () => loadMatrix(path),
    (e: Error) =>
      e.message.includes(path) && /malformed matrix/.test(e.message) &&
      /is not valid JSON/.test(e.message),
  );
  await Deno.remove(path);
});

Deno.test("key lengths: fixed, varlen in [1, sk], and empty caches at i % 3 == 1", () => {
  assert.deepEqual(keyLengths({ b: 3, sk: 7, varlen: "none" }, { seed: 1 }), [7, 7, 7]);
  const v = keyLengths({ b: 50, sk: 100, varlen: "normal" }, { seed: 5 });
  assert.ok(v.every((x) => x >= 1 && x <= 100));
  assert.ok(new Set(v).size > 5, "lengths vary");
  const e = keyLengths({ b: 6, sk: 100, varlen: "normal-empty" }, { seed: 5 });
  assert.deepEqual([e[1], e[4]], [0, 0]);
  assert.ok(e[0] > 0 && e[2] > 0);
  assert.deepEqual(
    keyLengths({ b: 6, sk: 100, varlen: "normal" }, { seed: 5 }),
    keyLengths({ b: 6, sk: 100, varlen: "normal" }, { seed: 5 }),
  );
});

Deno.test("thd layout of a case: decode packs sq queries, prefill packs one query per key", () => {
  const d = layoutOfCase({ ...CASE_DEFAULTS, layout: "thd", b: 2, sq: 2, sk: 5 }, { seed: 1 });
  assert.deepEqual(d, { kind: "thd", cuSeqlensQ: [0, 2, 4], cuSeqlensK: [0, 5, 10], causal: true });
  const p = layoutOfCase({ ...CASE_DEFAULTS, layout: "thd", b: 2, sq: 5, sk: 5, causal: false }, {
    seed: 1,
  });
  assert.deepEqual(p, {
    kind: "thd",
    cuSeqlensQ: [0, 5, 10],
    cuSeqlensK: [0, 5, 10],
    causal: false,
  });
  const s = layoutOfCase({ ...CASE_DEFAULTS, layout: "sbhd", b: 2, sq: 1, sk: 5 }, { seed: 1 });
  assert.deepEqual(s, { kind: "sbhd", batch: 2, seqQ: 1, seqK: 5, causal: true });
});

Deno.test("thd: the matrix refuses exactly the cases whose packing runs another sq, and names it", () => {
  for (let sq = 1; sq <= 6; sq++) {
    for (let sk = 1; sk <= 6; sk++) {
      const params = { ...CASE_DEFAULTS, layout: "thd" as const, b: 3, sq, sk };
      const layout = layoutOfCase(params, { seed: 1 });
      assert.equal(layout.kind, "thd");
      const cuSeqlensQ = layout.kind === "thd" ? layout.cuSeqlensQ : [];
      const packed = new Set(cuSeqlensQ.slice(1).map((c, i) => c - cuSeqlensQ[i]));
      const issues = thdMoreQueriesThanKeys([{ id: `sq${sq}sk${sk}`, params }]);
      const ran = [...packed].join(",");
      if (ran === String(sq)) {
        assert.deepEqual(issues, [], `sq ${sq} sk ${sk} packs sq ${ran} yet is refused`);
      } else {
        assert.equal(issues.length, 1, `sq ${sq} sk ${sk} packs sq ${ran} yet is accepted`);
        assert.match(issues[0].message, new RegExp(`would run sq ${ran};`), issues[0].message);
      }
    }
  }
});

Deno.test("shuffled paging: every needed page once, one spare, rows padded with -1", async () => {
  const { shuffledPaging } = await import("../reference/paging.ts");
  const p = shuffledPaging([5, 0, 3], { pageSize: 2, seed: 9 });
  assert.equal(p.numPages, 3 + 0 + 2 + 1);
  assert.deepEqual(p.blockTable.map((r) => r.length), [3, 3, 3]);
  const used = p.blockTable.flatMap((r) => r.filter((x) => x >= 0));
  assert.equal(used.length, 5);
  assert.equal(new Set(used).size, 5);
  assert.deepEqual(p.blockTable[1], [-1, -1, -1]);
  const sorted = [...used].sort((a, b) => a - b);
  assert.notDeepEqual(used, sorted.slice(0, used.length), "pages are shuffled");
});

Deno.test("paramsOfCaseId inverts caseId for every case of the bundled matrices", async () => {
  for (const name of ["smoke", "nightly", "adapter"]) {
    for (const c of (await loadMatrix(name)).cases) {
      assert.equal(caseId(paramsOfCaseId(c.id)), c.id, c.id);
      assert.deepEqual(paramsOfCaseId(c.id), c.params, c.id);
    }
  }
});

Deno.test("sameFilter: one selection written two ways is the same; another selection is not", () => {
  assert.ok(sameFilter(null, null));
  assert.ok(sameFilter("preset=tiny;dtype=f32", "dtype=f32;preset=tiny"));
  assert.ok(sameFilter("dtype=f16,f32", "dtype=f32,f16"));
  assert.ok(sameFilter("causal=true;sk=064", "causal=1;sk=64"));
  assert.ok(sameFilter(" preset=tiny ; ", "preset=tiny"));
  assert.ok(!sameFilter("preset=tiny", null));
  assert.ok(!sameFilter("preset=tiny;dtype=f32", "preset=tiny"));
  assert.ok(!sameFilter("dtype=f32", "dtype=f16"));
  assert.ok(!sameFilter("dtype=f32,f16", "dtype=f32"));
  assert.ok(!sameFilter("causal=1", "causal=0"));
  // A text that does not parse is the same only as itself.
  assert.ok(sameFilter("nokey=1", "nokey=1"));
  assert.ok(!sameFilter("nokey=1", "nokey=1;"));
});
