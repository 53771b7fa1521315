// Hostile matrices and filters (issue 16): ambiguous id values, unbounded axes, case
// counts that would exhaust memory, filters that select nothing or name impossible
// values, empty shards, and config paths that escape the matrix's folder.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { parseFilter } from "../matrix/case_id.ts";
import { configPlace } from "../matrix/config_paths.ts";
import {
  countCases,
  DEFAULT_MAX_CASES,
  expandMatrix,
  iterateCases,
  validateMatrix,
} from "../matrix/expand.ts";
import { selectMatrixCases } from "../matrix/select.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { makePrng } from "../util/prng.ts";
import { caseRequest } from "../runner/case_request.ts";
import { runCli } from "./helpers_cli.ts";
import { configError } from "./config_helpers.ts";

/** 10 values on 8 axes: 10^8 cases. */
const tenOnEight = {
  name: "huge",
  devices: Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`d${i}`, { loopIterationBudget: 1000 + i }]),
  ),
  groups: [{
    axes: {
      ...Object.fromEntries(
        ["sq", "sk", "heads", "splits", "page"].map((
          k,
        ) => [k, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]),
      ),
      // 100 batch sizes, where 10 presets were: preset names must name presets (on load)
      b: Array.from({ length: 100 }, (_, i) => i + 1),
      device: Array.from({ length: 10 }, (_, i) => `d${i}`),
      preset: "tiny",
    },
  }],
};

Deno.test("case id values may not hold ; = , (ids would be unselectable)", () => {
  for (const preset of ["a;b", "dtype=f16", "x,y", "tab\there", " padded"]) {
    const e = configError(() =>
      validateMatrix({ name: "m", groups: [{ axes: { preset } }] }, "m.json")
    );
    assert.match(e.message, /groups\[0\]\.axes\.preset\[0\]: /, e.message);
    assert.ok(e.message.includes(JSON.stringify(preset)), e.message);
  }
  const e = configError(() =>
    validateMatrix({ name: "m", devices: { "no,f16": {} }, groups: [{ axes: {} }] }, "m.json")
  );
  assert.match(e.message, /devices.*must not contain ';', '=', ','/s, e.message);
});

Deno.test("integer axes are bounded, and the message states the bound", () => {
  for (
    const [axis, value, bound] of [
      ["b", 100_000_000, "from 1 to 4096"],
      ["sk", 1_000_000_000, "from 0 to 1048576"],
      ["heads", 5000, "from 0 to 1024"],
    ] as const
  ) {
    const e = configError(() =>
      validateMatrix({ name: "m", groups: [{ axes: { [axis]: value } }] }, "m.json")
    );
    assert.ok(
      e.message.includes(`groups[0].axes.${axis}[0]: ${value} must be an integer ${bound}`),
      e.message,
    );
  }
});

Deno.test("a 10^8-case matrix is counted, not expanded, and refused with --max-cases", () => {
  const m = validateMatrix(tenOnEight, "huge.json");
  const t0 = performance.now();
  assert.deepEqual(countCases(m), { count: 100_000_000, exact: true });
  const e = configError(() => expandMatrix(m, "huge.json"));
  assert.ok(performance.now() - t0 < 1000, "refused at once");
  assert.match(e.message, /huge\.json: too many cases/);
  assert.match(
    e.message,
    new RegExp(
      `100000000 cases are more than the limit of ${DEFAULT_MAX_CASES}.*--max-cases 100000000`,
    ),
  );
  // past 2^53 the count is no integer --max-cases takes: no --max-cases is suggested
  const r = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  const vast = validateMatrix({
    name: "v",
    groups: [{ axes: { b: r(4096), sq: r(4096), sk: r(4096), heads: r(1024), splits: r(4096) } }],
  }, "vast.json");
  const ev = configError(() => expandMatrix(vast, "vast.json"));
  assert.match(
    ev.message,
    /groups: 288230376151711740 cases are more than the limit of 100000; select fewer with --filter or smaller axes \(no --max-cases/,
  );
  assert.match(ev.message, /no --max-cases reaches that many/);
  assert.doesNotMatch(ev.message, /raise the limit with --max-cases/);
  // lazily expanded: the first cases come at once, whatever the total
  const it = iterateCases(m, "huge.json");
  const first = [it.next().value, it.next().value];
  // in id order, as nested loops: b outer, device (last but mode) fastest
  assert.deepEqual(first.map((c) => [c?.params.b, c?.params.device]), [[1, "d0"], [1, "d1"]]);
  // the limit can be raised, and a filter counts only what it selects
  const small = validateMatrix(
    { name: "s", groups: [{ axes: { b: [1, 2, 3], sq: [1, 2] } }] },
    "s",
  );
  assert.equal(expandMatrix(small, "s", { maxCases: 6 }).length, 6);
  assert.match(
    configError(() => expandMatrix(small, "s", { maxCases: 5 })).message,
    /--max-cases 6/,
  );
  const filter = parseFilter("b=1,2;sq=2;heads=3;splits=4;page=5");
  // b 2 x sq 1 x sk 10 x heads 1 x splits 1 x page 1 x device 10 x preset 1
  assert.deepEqual(countCases(m, { filter }), { count: 200, exact: true });
  assert.equal(expandMatrix(m, "huge.json", { filter }).length, 200);
});

Deno.test("counts agree with expansion on random matrices with excludes and filters", () => {
  const rng = makePrng(16, "matrix-count");
  const pick = (xs: readonly unknown[]): unknown[] => xs.filter(() => rng.uniform() < 0.5);
  const domains: Record<string, readonly unknown[]> = {
    path: ["absorbed", "expanded"],
    dtype: ["f32", "f16"],
    b: [1, 2, 3],
    sk: [0, 16, 64],
    causal: [true, false],
  };
  for (let trial = 0; trial < 200; trial++) {
    const axes = Object.fromEntries(
      Object.entries(domains).map(([k, vs]) => [k, pick(vs)]).filter(([, vs]) =>
        (vs as unknown[]).length > 0
      ),
    );
    const exclude = Array.from({ length: rng.int(4) }, () =>
      Object.fromEntries(
        Object.entries(domains).filter(() => rng.uniform() < 0.4).map(([k, vs]) => [k, pick(vs)])
          .filter(([, vs]) => (vs as unknown[]).length > 0),
      ));
    const m = validateMatrix({ name: "r", groups: [{ axes, exclude }] }, "r");
    const filter = rng.uniform() < 0.5 ? parseFilter("dtype=f16;causal=0,1") : null;
    const expanded = [...iterateCases(m, "r", { filter })];
    const all = [...iterateCases(m, "r")];
    assert.deepEqual(countCases(m, { filter }), { count: expanded.length, exact: true });
    if (filter) {
      assert.deepEqual(
        expanded.map((c) => c.id),
        all.filter((c) => c.params.dtype === "f16").map((c) => c.id),
        "filtering before expansion selects what filtering after it would",
      );
    }
  }
});

Deno.test("filters are checked against the axes' domains", () => {
  for (
    const [text, message] of [
      ["causal=yes", /filter value causal=yes is not a value of axis causal; valid: 1, 0, true/],
      ["dtype=bf16", /filter value dtype=bf16 is not a value of axis dtype; valid: f32, f16/],
      ["preset=", /filter value preset= is empty/],
      ["b=0", /filter value b=0 is not a value of axis b; valid: integers from 1 to 4096/],
      ["sk=1e3", /filter value sk=1e3 is not a value of axis sk/],
      ["preset=a=b", /filter value preset=a=b is not a possible preset/],
      ["dtype=f16;dtype=f32", /filter key "dtype" appears twice; list alternatives with ','/],
      ["colour=red", /filter key "colour" is unknown; valid keys: preset, heads/],
    ] as const
  ) {
    assert.throws(
      () => parseFilter(text),
      (e: unknown) => e instanceof RangeError && message.test(e.message),
    );
  }
  assert.deepEqual(parseFilter("causal=true,0;b=4").get("causal"), ["true", "0"]);
});

Deno.test("a filter selecting nothing is an error naming the unused values; an empty shard is a note", async () => {
  await assert.rejects(
    () => selectMatrixCases({ matrix: "smoke", filter: "preset=tiny-typo;dtype=f16" }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^--filter: selects no case of matrix smoke/);
      assert.match(
        e.message,
        /preset: "tiny-typo" occurs in no group of matrix smoke; its values of preset: .*tiny/,
      );
      assert.ok(!e.message.includes("dtype:"), "a value the matrix has is not blamed");
      return true;
    },
  );
  // each value exists, the combination does not
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/m.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        name: "m",
        groups: [{ axes: { dtype: "f16", b: 1 } }, { axes: { dtype: "f32", b: 2 } }],
      }),
    );
    await assert.rejects(
      () => selectMatrixCases({ matrix: path, filter: "dtype=f16;b=2" }),
      /selects no case of matrix m\n\s+\(filter\): "dtype=f16;b=2" every value occurs in the matrix, but no case/,
    );
    const one = await selectMatrixCases({ matrix: path, filter: "dtype=f16,f32;b=1" });
    assert.equal(one.all.length, 1);
    assert.deepEqual(one.notes, [], "f32 occurs in the matrix: no note");
    const notes = [1, 2].map(async (index) =>
      (await selectMatrixCases({ matrix: path, filter: "b=1", shard: { index, count: 2 } })).notes
    );
    const [a, b] = await Promise.all(notes);
    const empty = a.length ? a : b;
    assert.equal(a.length + b.length, 1, "exactly one shard is empty");
    assert.match(
      empty[0],
      /note: shard [12]\/2 holds none of the 1 case of its matrix and filter \(cases go to shards by a hash of their id\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config paths stay inside the matrix's folder or --config-root; links are followed", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${dir}/ci/configs`, { recursive: true });
    await Deno.mkdir(`${dir}/shared`);
    const cfg = await Deno.readTextFile(
      new URL("./fixtures/hf_deepseek_v2_lite_config.json", import.meta.url),
    );
    await Deno.writeTextFile(`${dir}/ci/configs/ok.json`, cfg);
    await Deno.writeTextFile(`${dir}/shared/outside.json`, cfg);
    await Deno.symlink(`${dir}/shared/outside.json`, `${dir}/ci/configs/link.json`);
    const matrix = async (preset: unknown) => {
      const path = `${dir}/ci/m.json`;
      await Deno.writeTextFile(path, JSON.stringify({ name: "m", groups: [{ axes: { preset } }] }));
      return path;
    };
    const ok = await selectMatrixCases({ matrix: await matrix(["configs/ok.json", "tiny"]) });
    assert.equal(ok.all.length, 2);
    for (
      const preset of [
        "../../../../etc/passwd",
        "/etc/passwd",
        "configs/link.json",
        "../shared/outside.json",
      ]
    ) {
      await assert.rejects(
        async () => selectMatrixCases({ matrix: await matrix(["tiny", preset]) }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.match(e.message, /m\.json: config path outside its folder/);
          assert.match(
            e.message,
            /groups\[0\]\.axes\.preset\[1\]: .* resolves to .*, outside the matrix file's folder/,
          );
          return true;
        },
        preset,
      );
    }
    // --config-root widens the folder
    const wide = await selectMatrixCases({
      matrix: await matrix("../shared/outside.json"),
      configRoot: dir,
    });
    assert.equal(wide.all.length, 1);
    // the same check per case, when the runner passes the place
    const place = configPlace(`${dir}/ci/m.json`, { bundled: false });
    await assert.rejects(
      () =>
        caseRequest({ ...CASE_DEFAULTS, preset: "../../../../etc/passwd" }, {
          seed: 1,
          baseDir: `${dir}/ci`,
          place,
        }),
      /config path outside its folder/,
    );
    const req = await caseRequest({ ...CASE_DEFAULTS, preset: "configs/ok.json" }, {
      seed: 1,
      baseDir: `${dir}/ci`,
      place,
    });
    assert.equal(req.spec.kChannels, 192);
    // bundled matrices read their configs from matrix/bundled/configs
    const adapter = await selectMatrixCases({ matrix: "adapter" });
    assert.ok(adapter.all.some((c) => c.params.preset.startsWith("configs/")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: bad filters, too many cases and escaping config paths exit 2 before any work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/out`;
    const m = `${dir}/m.json`;
    await Deno.writeTextFile(
      m,
      JSON.stringify({ name: "m", groups: [{ axes: { preset: "../../../../../../etc/passwd" } }] }),
    );
    const huge = `${dir}/huge.json`;
    await Deno.writeTextFile(huge, JSON.stringify(tenOnEight));
    const runs: [string[], RegExp][] = [
      [["--filter", "causal=yes"], /filter value causal=yes is not a value of axis causal/],
      [["--filter", "dtype=bf16"], /valid: f32, f16/],
      [["--filter", "preset="], /filter value preset= is empty/],
      [["--filter", "preset=nope"], /--filter: selects no case of matrix smoke/],
      [["--matrix", huge], /too many cases.*--max-cases 100000000/s],
      [["--matrix", huge, "--max-cases", "0"], /--max-cases.*not an integer >= 1/],
      [["--matrix", m], /config path outside its folder/],
    ];
    for (const [args, message] of runs) {
      const r = await runCli(["run", "--out", out, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
      assert.ok(!/root:/.test(r.stderr + r.stdout), "no content of /etc/passwd");
      assert.ok(!(await Deno.stat(`${out}/results.jsonl`).then(() => true, () => false)));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--max-cases with --shard: the refusal says the limit counts the selection before the shard", async () => {
  // "4 cases ... more than the limit of 2" read as if the shard's part were counted
  const cut = (shard?: { index: number; count: number }) =>
    selectMatrixCases({
      matrix: "smoke",
      filter: "preset=tiny;dtype=f32;path=absorbed;sk=20;layout=bshd",
      maxCases: 2,
      shard,
    })
      .then(() => "", (e) => e instanceof ConfigError ? e.message : String(e));
  assert.match(
    await cut({ index: 1, count: 2 }),
    /cases after the filter are more than the limit of 2; .* \(the limit counts the whole selection, before --shard 1\/2 takes its part of it\)/,
  );
  assert.doesNotMatch(await cut(), /--shard/);
});
