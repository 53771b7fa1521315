// `run --plant-fault`: a run in which no selected case would execute the planted fault (no
// plan compiles the faulted kernel file) could only pass; it is refused (exit 2) before any
// case runs, from the plans the adapter resolves without the GPU. A `--backend` that never
// compiles the file is refused at once.
import assert from "node:assert/strict";
import { BUNDLED_BACKENDS } from "../adapter/backends.ts";
import { ConfigError } from "../adapter/errors.ts";
import { registerBackend } from "../adapter/registry.ts";
import { checkBackendCompiles, uncaughtFaultLine } from "../cli/run.ts";
import { CliError, EXIT } from "../cli/errors.ts";
import { hasAdapter } from "../gpu/device.ts";
import { backendChoice } from "../gpu/backend_choice.ts";
import { expandMatrix, validateMatrix } from "../matrix/expand.ts";
import { ALL_FAULTS, type Fault, faultBackendOf } from "../parity/faults.ts";
import {
  backendsCompiling,
  checkFaultReached,
  faultMiss,
  faultMissCounts,
  faultMisses,
  faultMissWarning,
} from "../runner/fault_reach.ts";
import { faultSlipped, faultUncaught, plantedFaultText } from "../report/verdict.ts";
import { H100_CAPS, LAVAPIPE_CAPS as caps } from "./caps_fixtures.ts";
import { runCli } from "./helpers_cli.ts";
import { readKernelFile, specializeSource } from "../kernels/source.ts";
import { lineSwitches } from "../kernels/compile_check.ts";

const gpu = await hasAdapter();
const fault = (id: string): Fault => ALL_FAULTS.find((f) => f.id === id)!;
const cases = (axes: Record<string, unknown>) =>
  expandMatrix(validateMatrix({ name: "m", groups: [{ axes }] }, "m.json"), "m.json");
const tiny = { preset: "tiny", dtype: "f32", sq: 4, sk: 20, b: 2 };

Deno.test("a source fault misses cases whose backend does not compile its file", async () => {
  const kpe = fault("kpe-left-out"); // absorbed.wgsl: the lane absorbed kernel
  assert.deepEqual(backendsCompiling("absorbed.wgsl"), ["wgsl-absorbed"]);
  const expanded = cases({ ...tiny, path: "expanded" });
  const miss = await faultMiss(expanded, kpe, caps);
  assert.deepEqual(
    miss && [...miss],
    [["runs on wgsl-expanded, which does not compile absorbed.wgsl", 1]],
  );
  // one case of the path it is planted in is enough
  assert.equal(
    await faultMiss(cases({ ...tiny, path: ["expanded", "absorbed"] }), kpe, caps),
    null,
  );
  // --backend of the other path: the case is refused by it
  const refused = await faultMiss(cases({ ...tiny, path: "absorbed" }), kpe, caps, {
    backend: "wgsl-expanded",
  });
  assert.deepEqual(refused && [...refused], [[
    "refused by wgsl-expanded (backend.path-mismatch)",
    1,
  ]]);
});

Deno.test({
  name:
    "a shard of a run that reaches the fault runs, whatever its own cases (the whole selection is asked)",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // two cases: absorbed (compiles absorbed.wgsl on wgsl-absorbed) and expanded; shard
      // 2/2 holds only the expanded one
      const filter = "preset=tiny;layout=bshd;sq=4;dtype=f32;causal=1;varlen=none";
      const codes: number[] = [];
      for (const shard of ["1/2", "2/2"]) {
        const r = await runCli([
          "run",
          "--filter",
          filter,
          "--backend",
          "wgsl-absorbed",
          "--plant-fault",
          "kpe-left-out",
          "--shard",
          shard,
          "--out",
          `${dir}/${shard.replace("/", "-")}`,
        ]);
        codes.push(r.code);
        assert.doesNotMatch(r.stderr, /would never execute/, r.stderr);
      }
      assert.ok(codes.includes(1), `one shard catches the fault: exit codes ${codes}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a case whose backend runs the fault where no input shows it cannot show it: counted, not 'ran with it'", async () => {
  // gemm_softmax.wgsl: both gemm backends compile it, but wgsl-expanded-gemm's values pass
  // weighs only the keys each query sees, so slots kept past them never reach the output.
  // Its expanded cases all passed and the run said the checks let the fault through (exit 4).
  const kept = fault("gemm-masked-slots-kept");
  const blind = "runs on wgsl-expanded-gemm, which executes it but no input can show it " +
    "there (its values pass weighs only the keys each query sees (weigh4_seen), so the slots " +
    "past them are never read)";
  for (const on of [caps, H100_CAPS]) {
    const expanded = cases({ ...tiny, path: "expanded" });
    assert.deepEqual([...(await faultMissCounts(expanded, kept, on))], [[blind, 1]]);
    await assert.rejects(
      () => checkFaultReached(expanded, kept, on),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, /gemm-masked-slots-kept would never show in this run/);
        assert.match(e.message, /1 case would not show it: runs on wgsl-expanded-gemm/);
        assert.match(e.message, /\(no input shows it on wgsl-expanded-gemm\)/);
        return true;
      },
    );
    // mixed with an absorbed case: that one runs it on wgsl-absorbed-gemm and can show it
    const both = cases({ ...tiny, path: ["expanded", "absorbed"] });
    assert.equal(await faultMiss(both, kept, on), null);
    assert.match(
      faultMissWarning(kept.id, 2, await faultMissCounts(both, kept, on)) ?? "",
      /1 of 2 cases cannot show it \(1 × runs on wgsl-expanded-gemm, which executes it but/,
    );
  }
  // a blind backend must be one that compiles the file (else the reason would be the other)
  for (const f of ALL_FAULTS) {
    for (const b of Object.keys(f.blindOn ?? {})) {
      assert.ok(f.apply.kind === "source" && backendsCompiling(f.apply.file).includes(b), f.id);
    }
  }
});

Deno.test("faultMissCounts asks every case; faultMissWarning names how many run clean and why", async () => {
  const kpe = fault("kpe-left-out");
  const both = cases({ ...tiny, path: ["expanded", "absorbed"] });
  const why = await faultMissCounts(both, kpe, caps);
  assert.deepEqual([...why], [["runs on wgsl-expanded, which does not compile absorbed.wgsl", 1]]);
  assert.equal(
    faultMissWarning("kpe-left-out", both.length, why),
    "warning: --plant-fault kpe-left-out: 1 of 2 cases cannot show it (1 × runs on " +
      "wgsl-expanded, which does not compile absorbed.wgsl): their passes say nothing about " +
      "the checks",
  );
  const absorbed = cases({ ...tiny, path: "absorbed" });
  assert.equal(
    faultMissWarning("kpe-left-out", 1, await faultMissCounts(absorbed, kpe, caps)),
    null,
  );
});

Deno.test({
  name: "run --plant-fault: cases that do not execute the fault are named, not passed as if it ran",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // two cases: absorbed (runs kpe-left-out on wgsl-absorbed) and expanded (clean)
      const r = await runCli([
        "run",
        "--filter",
        "preset=tiny;layout=bshd;sq=4;dtype=f32;causal=1;varlen=none",
        "--plant-fault",
        "kpe-left-out",
        "--repeats",
        "0",
        "--out",
        dir,
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /warning: --plant-fault kpe-left-out: 1 of 2 cases cannot show it \(1 × runs on wgsl-expanded, which does not compile absorbed\.wgsl\)/,
      );
      const summary = await Deno.readTextFile(`${dir}/summary.md`);
      assert.match(summary, /every case ran with it that can show it/);
      // recorded, so the reports count them after the terminal is gone
      assert.match(summary, /1 of 2 cases cannot show it/);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
      assert.deepEqual(
        report.plantedFaultClean.map((c: { id: string }) => c.id.includes("path=expanded")),
        [true],
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a user backend may compile any harness kernel through its kit: never counted as a miss", async () => {
  const base = BUNDLED_BACKENDS["wgsl-absorbed"];
  registerBackend({ ...base, id: "test-user-absorbed" });
  // up_proj.wgsl's fault: the kit's upProject may run it for any absorbed backend
  const upProj = ALL_FAULTS.find((f) =>
    f.apply.kind === "source" && f.apply.file === "up_proj.wgsl"
  );
  assert.ok(upProj, "a fault in up_proj.wgsl");
  const c = cases({ ...tiny, path: "absorbed", backend: "test-user-absorbed" });
  assert.equal(await faultMiss(c, upProj, caps), null);
  assert.equal(await faultMiss(c, fault("kpe-left-out"), caps), null);
  // nor does run's --backend check refuse it (the same rule: runner/fault_reach.ts mayCompile)
  checkBackendCompiles("kpe-left-out", "absorbed.wgsl", "test-user-absorbed");
});

Deno.test("cases that would not run at all miss the fault: expected unsupported, no keys", async () => {
  const kpe = fault("kpe-left-out");
  const noKeys = await faultMiss(cases({ ...tiny, path: "absorbed", sk: 0 }), kpe, caps);
  assert.deepEqual(noKeys && [...noKeys], [["refused by wgsl-absorbed (layout.no-keys)", 1]]);
  const expected = expandMatrix(
    validateMatrix({
      name: "m",
      groups: [{ axes: { ...tiny, path: "absorbed" }, expect: { support: "unsupported" } }],
    }, "m.json"),
    "m.json",
  );
  const missed = await faultMiss(expected, kpe, caps);
  assert.deepEqual(missed && [...missed], [["expected unsupported, so not run", 1]]);
});

Deno.test("a plan fault reaches any attention case on the GPU, not a layer case", async () => {
  const plan = fault("rope-neox-on-interleaved");
  assert.equal(await faultMiss(cases({ ...tiny, path: "expanded" }), plan, caps), null);
  const layer = cases({ preset: "tiny", dtype: "f32", sq: 4, sk: 4, mode: "layer", layout: "thd" });
  const miss = await faultMiss(layer, plan, caps);
  assert.deepEqual(miss && [...miss], [["mode layer (plan faults apply to attention only)", 1]]);
});

Deno.test("a plan fault that leaves a case's plan as it is cannot show there: counted, not 'ran with it'", async () => {
  // yarn-scale-without-mscale over tiny (no YaRN): the scale it drops the factor from is
  // already 1/sqrt(d); every case passed and the run said "the checks let it through" (exit 4)
  const noop = "the fault leaves its spec and plan as they are (what it changes is not in " +
    "this case)";
  for (const id of ["yarn-scale-without-mscale", "yarn-scale-m-not-squared"]) {
    const yarn = fault(id);
    const noYarn = await faultMiss(cases({ ...tiny, path: "absorbed" }), yarn, caps);
    assert.deepEqual(noYarn && [...noYarn], [[noop, 1]], id);
    assert.equal(
      await faultMiss(cases({ ...tiny, preset: "tiny-yarn", path: "absorbed" }), yarn, caps),
      null,
      id,
    );
  }
  // causal-top-left and query-positions-top-left over a prefill of sq = sk (no causal
  // offset to drop), positions-not-restarted and previous-sequence-key-visible over one
  // sequence (its positions already start at 0; no sequence before it)
  const square = cases({ ...tiny, sq: 6, sk: 6, b: 1, path: "absorbed" });
  for (
    const id of [
      "causal-top-left",
      "positions-not-restarted",
      "query-positions-top-left",
      "previous-sequence-key-visible",
    ]
  ) {
    const miss = await faultMiss(square, fault(id), caps);
    assert.deepEqual(miss && [...miss], [[noop, 1]], id);
  }
  // positions-not-restarted over several square sequences (smoke's tiny-yarn b=2 prefills
  // of 24 x 24): the second sequence's queries and keys both move by 24, which relative
  // RoPE does not see; those 8 cases passed and a run of them said "not caught", exit 4
  const shift = "the fault moves each sequence's query and key RoPE positions by one amount: " +
    "RoPE is relative, so its scores are as they were";
  for (const layout of ["bshd", "thd"]) {
    const prefills = cases({
      ...tiny,
      preset: "tiny-yarn",
      sq: 24,
      sk: 24,
      layout,
      path: "absorbed",
    });
    const miss = await faultMiss(prefills, fault("positions-not-restarted"), caps);
    assert.deepEqual(miss && [...miss], [[shift, 1]], layout);
    // a decode's queries move by another amount than its keys: shown (and caught)
    assert.equal(
      await faultMiss(
        cases({ ...tiny, sq: 1, layout, path: "absorbed" }),
        fault("positions-not-restarted"),
        caps,
      ),
      null,
      layout,
    );
  }
  // one position short shows in a square prefill too (query 0 then sees no key)
  assert.equal(await faultMiss(square, fault("causal-diagonal-excluded"), caps), null);
  // without a causal mask the kernels never read the causal offset: `run --plant-fault
  // causal-top-left` over causal=0 cases said "not caught: the 8 cases that ran with it passed"
  const open = cases({ ...tiny, causal: false, path: "absorbed" });
  for (const id of ["causal-top-left", "causal-diagonal-excluded"]) {
    const miss = await faultMiss(open, fault(id), caps);
    assert.deepEqual(miss && [...miss], [[noop, 1]], id);
  }
  // a NoPE spec (mla_use_nope) rotates nothing: neither the pairing nor a position enters a
  // score, and the RoPE faults' runs said "not caught: the 4 cases that ran with it passed"
  const nope = cases({
    ...tiny,
    preset: "tests/fixtures/model_variants/nope_tiny.config.json",
    path: "absorbed",
  });
  for (
    const id of ["rope-neox-on-interleaved", "positions-not-restarted", "query-positions-top-left"]
  ) {
    const miss = await faultMiss(nope, fault(id), caps);
    assert.deepEqual(miss && [...miss], [[noop, 1]], id);
    assert.equal(await faultMiss(cases({ ...tiny, path: "absorbed" }), fault(id), caps), null, id);
  }
  assert.equal(
    await faultMiss(cases({ ...tiny, path: "absorbed" }), fault("causal-top-left"), caps),
    null,
  );
});

Deno.test("a fault in the split code misses a case whose plan runs one split", async () => {
  // combine-first-split-max-ignored over cases without KV splits: every case "ran with it",
  // passed, and the run exited 4 (the combine never ran)
  const split = ALL_FAULTS.filter((f) => f.splitsOnly !== undefined).map((f) => f.id);
  assert.deepEqual(split, [
    "fa2-split-rows-overlap",
    "combine-first-split-max-ignored",
    "gemm-split-sum-last-dropped",
    "gemm-split-ranges-overlap",
  ]);
  const kv = "its plan runs one KV split: the faulted code runs only with several";
  const combine = fault("combine-first-split-max-ignored");
  for (const path of ["absorbed", "expanded"]) {
    const miss = await faultMiss(cases({ ...tiny, path }), combine, caps);
    assert.deepEqual(miss && [...miss], [[kv, 1]], path);
    assert.equal(await faultMiss(cases({ ...tiny, path, splits: 3 }), combine, caps), null, path);
  }
  const sum = fault("gemm-split-sum-last-dropped");
  const one = await faultMiss(cases({ ...tiny, path: "absorbed" }), sum, caps);
  assert.deepEqual(one && [...one], [[
    "its plan runs one values split: the faulted code runs only with several",
    1,
  ]]);
  // its scenario's 600 keys: the gemm backend splits the values pass
  const long = cases({ preset: "tiny", dtype: "f32", sq: 1, sk: 600, b: 2, path: "absorbed" });
  assert.equal(await faultMiss(long, sum, caps), null);
});

Deno.test("a shared-texture-rows fault misses a case whose texture holds one row per texture row", async () => {
  // gemm-cache-texture-shared-rows-folded over tiny cases: (row % 1) * width + p is p, the
  // fold changes nothing; every case "ran with it", passed, and the run said exit 4
  assert.deepEqual(
    ALL_FAULTS.filter((f) => f.sharedRows !== undefined).map((f) => f.id),
    [
      "up-proj-weight-texture-rows-folded",
      "expand-texture-latent-shared-rows-folded",
      "expanded-key-texture-shared-rows-folded",
      "expanded-packed-key-rows-folded",
      "gemm-cache-texture-shared-rows-folded",
      "gemm-query-texture-shared-rows-folded",
      "gemm-prob-texture-shared-rows-folded",
      "gemm-expanded-key-texture-shared-rows-folded",
    ],
  );
  const one = (field: string) =>
    `its plan's ${field} holds one row per texture row: the fault changes nothing there (it ` +
    "needs rows that share a texture row: more rows than the texture side)";
  const cache = fault("gemm-cache-texture-shared-rows-folded");
  const small = await faultMiss(cases({ ...tiny, path: "absorbed" }), cache, caps);
  assert.deepEqual(small && [...small], [[one("cacheTexture"), 1]]);
  const key = fault("expanded-key-texture-shared-rows-folded");
  const smallKey = await faultMiss(cases({ ...tiny, path: "expanded" }), key, caps);
  assert.deepEqual(smallKey && [...smallKey], [[one("keyTexture"), 1]]);
  // its scenario's 2 x 4200 keys x 4 heads: more (key row, head) rows than a texture side
  const shared = cases({ preset: "tiny", dtype: "f32", path: "expanded", b: 2, sq: 1, sk: 4200 });
  assert.equal(await faultMiss(shared, key, caps), null);
});

Deno.test("a fault in a wide-columns statement misses a plan of few columns per invocation", async () => {
  // gemm-values-column-block-crossed over tiny cases (EV 1: its `if (EV > 4u)` statement
  // never runs): every case "ran with it", passed, and the run said exit 4
  const crossed = fault("gemm-values-column-block-crossed");
  const miss = await faultMiss(cases({ ...tiny, path: "absorbed" }), crossed, caps);
  assert.deepEqual(miss && [...miss], [[
    "its plan's columnsPerInvocation is 1: the faulted code runs only with more than 4",
    1,
  ]]);
  const lite = cases({ ...tiny, preset: "deepseek-v2-lite", path: "absorbed" });
  assert.equal(await faultMiss(lite, crossed, caps), null);
});

Deno.test("a packed-rows fault misses a plan whose cache texture is not packed", async () => {
  // gemm-packed-scores-hi-dropped over tiny f16 cases (an rgba16float cache texture): the
  // two cases "ran with it", passed, and the run said exit 4
  const hi = fault("gemm-packed-scores-hi-dropped");
  const f16 = cases({ ...tiny, dtype: "f16", path: "absorbed" });
  const miss = await faultMiss(f16, hi, caps);
  assert.deepEqual(miss && [...miss], [[
    "its plan's cacheTexture is rgba16float, not packed f16 rows (rgba32uint): the faulted " +
    "code reads packed rows only",
    1,
  ]]);
  const lite = cases({ ...tiny, preset: "deepseek-v2-lite", dtype: "f16", path: "absorbed" });
  assert.equal(await faultMiss(lite, hi, caps), null);
  // the packing copy (cache_texture.wgsl): whichever texture is packed. Over smoke's tiny
  // f16 absorbed cases (no texture packed) it ran, passed, and the run said exit 4; its
  // expanded ones pack K and V (caught, as V2-Lite's absorbed cache)
  const swapped = fault("gemm-packed-halves-swapped");
  const none = await faultMiss(f16, swapped, caps);
  assert.deepEqual(none && [...none], [[
    "no texture of its plan holds packed f16 rows (rgba32uint): the faulted code packs rows " +
    "only into one",
    1,
  ]]);
  assert.equal(
    await faultMiss(cases({ ...tiny, dtype: "f16", path: "expanded" }), swapped, caps),
    null,
  );
  assert.equal(await faultMiss(lite, swapped, caps), null);
});

Deno.test("every fault's own scenario (bshd) is reached: no reach rule says it cannot show there", async () => {
  // the rules above (dtype, splits, shared texture rows, variant, blind backends, plan
  // changes) each turn cases away: none may turn away the case the fault is proven in
  let checked = 0;
  for (const f of ALL_FAULTS) {
    const s = f.scenario;
    // (the subgroup faults need a device with subgroups: tests/browser_subgroups_test.ts)
    if (s.layout.kind !== "bshd" || faultBackendOf(f, s.path).endsWith("-sg")) continue;
    // (a matrix's b is at most 4096: a scenario past it is a kernel test's own)
    if (s.layout.batch > 4096) continue;
    const own = s.deviceClass === "gpu" ? H100_CAPS : caps;
    const side = Math.min(own.limits.maxTextureDimension2D ?? 8192, s.maxTextureSide ?? Infinity);
    const on = { ...own, limits: { ...own.limits, maxTextureDimension2D: side } };
    const c = cases({
      preset: s.preset,
      dtype: s.dtype,
      path: s.path,
      b: s.layout.batch,
      sq: s.layout.seqQ,
      sk: s.layout.seqK,
      causal: s.layout.causal,
      ...(s.kvSplits === undefined ? {} : { splits: s.kvSplits }),
    });
    const miss = await faultMiss(c, f, on, { backend: faultBackendOf(f, s.path) });
    assert.equal(miss && [...miss].join(), null, f.id);
    checked++;
  }
  assert.ok(checked > 60, `${checked}`);
});

Deno.test("checkFaultReached: a ConfigError saying why each case misses and where the fault shows", async () => {
  await assert.rejects(
    () => checkFaultReached(cases({ ...tiny, path: "expanded" }), fault("kpe-left-out"), caps),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^--plant-fault: kpe-left-out would never execute in this run/);
      assert.match(e.message, /1 case would not run it: runs on wgsl-expanded/);
      assert.match(
        e.message,
        /the run could only pass; it rewrites absorbed\.wgsl, which only wgsl-absorbed compiles;/,
      );
      assert.match(e.message, /--filter 'preset=tiny;path=absorbed;dtype=f32'/);
      return true;
    },
  );
  // no case selected here (an empty shard of a non-empty selection): nothing to refuse
  await checkFaultReached([], fault("kpe-left-out"), caps);
});

Deno.test("a fault in code only one device class runs misses a device of the other class", async () => {
  for (const f of ALL_FAULTS.filter((f) => f.scenario.deviceClass !== undefined)) {
    const s = f.scenario;
    const selected = cases({ preset: s.preset, path: s.path, dtype: s.dtype, sq: 4, sk: 20, b: 2 });
    // lavapipe's caps are cpu-class, an H100's gpu-class: the fault's own class reaches it
    const [own, other] = s.deviceClass === "cpu" ? [caps, H100_CAPS] : [H100_CAPS, caps];
    const otherClass = s.deviceClass === "cpu" ? "gpu" : "cpu";
    // (a shared-texture-rows fault reaches it, but few rows may hold one per texture row)
    const ownMiss = await faultMiss(selected, f, own);
    if (f.sharedRows === undefined) assert.equal(ownMiss, null, f.id);
    else if (ownMiss !== null) assert.match([...ownMiss].join(), /one row per texture/, f.id);
    const miss = await faultMiss(selected, f, other);
    assert.deepEqual(miss && [...miss], [[
      `the faulted code runs only in ${s.deviceClass}-class plans and this device is ` +
      `${otherClass}-class (MLA_HARNESS_DEVICE_CLASS=${s.deviceClass} plans as one)`,
      1,
    ]], f.id);
  }
});

Deno.test("a fault in the one-lane query absorption or up-projection misses a gpu-class device", async () => {
  // absorb_q.wgsl and up_proj.wgsl run in cpu-class plans only (a gpu-class plan takes their
  // split forms, adapter/harness_tiles.ts): with MLA_HARNESS_DEVICE_CLASS=gpu, --plant-fault
  // up-proj-token-tile-aliased said "the 1 case that ran with it passed ... exit 4", though
  // no case compiled up_proj.wgsl
  const oneLane = { "absorb_q.wgsl": "cpu", "up_proj.wgsl": "cpu" } as Record<string, string>;
  const split = { "absorb_q_split.wgsl": "gpu", "up_proj_split.wgsl": "gpu" } as Record<
    string,
    string
  >;
  const files = { ...oneLane, ...split };
  const checked = ALL_FAULTS.filter((f) =>
    f.apply.kind === "source" && Object.hasOwn(files, f.apply.file)
  );
  assert.ok(checked.length >= 8, `${checked.length}`);
  for (const f of checked) {
    const file = f.apply.kind === "source" ? f.apply.file : "";
    assert.equal(f.scenario.deviceClass, files[file], `${f.id} (${file})`);
  }
  const absorbed = cases({ ...tiny, path: "absorbed" });
  for (const id of ["up-proj-token-tile-aliased", "absorb-q-column-tile-shifted"]) {
    const miss = await faultMiss(absorbed, fault(id), H100_CAPS);
    assert.match(miss ? [...miss.keys()].join() : "", /runs only in cpu-class plans/, id);
    assert.equal(await faultMiss(absorbed, fault(id), caps), null, id);
  }
});

Deno.test("an f16-only fault misses f32 cases, which run the clean kernels instead of erroring", async () => {
  // f16-accumulation over f32 cases: "alias acc_t = f16;" in a kernel without `enable f16;`,
  // each case a ShaderCompileError (exit 1, read as caught), and the reach said they ran it
  const f16Only = ALL_FAULTS.filter((f) => f.dtype === "f16").map((f) => f.id);
  assert.deepEqual(f16Only, [
    "f16-accumulation",
    "expand-f16-weight-halves-swapped",
    "expanded-packed-scores-hi-dropped",
    "expanded-packed-values-hi-lost",
    "tiled-f16-accumulation",
    "tiled-f16-partial-scores",
    "fa2-f16-accumulation",
    "gemm-packed-halves-swapped",
    "gemm-packed-scores-hi-dropped",
    "gemm-packed-values-column-doubled",
    "gemm-expanded-packed-scores-hi-dropped",
    "gemm-expanded-packed-values-column-doubled",
  ]);
  const acc = fault("f16-accumulation");
  const f32 = cases({ ...tiny, path: "absorbed" });
  const miss = await faultMiss(f32, acc, caps);
  assert.deepEqual(miss && [...miss], [[
    "its storage is f32: the faulted code exists in f16 kernels only",
    1,
  ]]);
  assert.equal(
    await faultMiss(cases({ ...tiny, dtype: "f16", path: "absorbed" }), acc, caps),
    null,
  );
  // the rewrite leaves an f32 kernel as it is, and plants the fault in an f16 one
  assert.ok(acc.apply.kind === "source");
  const f32Source = "// @enable-f16\nalias acc_t = f32;\n";
  assert.equal(acc.apply.mutate("absorbed.wgsl", f32Source), f32Source);
  assert.equal(
    acc.apply.mutate("absorbed.wgsl", "enable f16;\nalias acc_t = f32;\n"),
    "enable f16;\nalias acc_t = f16;\n",
  );
  // the packed f16 faults: their code is f16 storage's only (tiny's expanded f32 decode
  // passed with expanded-packed-scores-hi-dropped, and the reach said it ran it)
  const packed = await faultMiss(
    cases({ ...tiny, sq: 1, path: "expanded" }),
    fault("expanded-packed-scores-hi-dropped"),
    caps,
  );
  assert.deepEqual(packed && [...packed], [[
    "its storage is f32: the faulted code exists in f16 kernels only",
    1,
  ]]);
  // a file without the f16 marker (cache_texture.wgsl: its packed lines are a switch) is
  // rewritten whatever its dtype
  const halves = fault("gemm-packed-halves-swapped");
  assert.ok(halves.apply.kind === "source");
  assert.equal(
    halves.apply.mutate("cache_texture.wgsl", "return vec4<u32>(a, b);"),
    "return vec4<u32>(b, a);",
  );
});

Deno.test("--plant-fault with a --backend that never compiles the fault's file: exit 2", () => {
  checkBackendCompiles("kpe-left-out", "absorbed.wgsl", "wgsl-absorbed");
  for (const backend of ["wgsl-expanded", "cpu-reference"]) {
    assert.throws(
      () => checkBackendCompiles("kpe-left-out", "absorbed.wgsl", backend),
      (e: unknown) =>
        e instanceof CliError && e.exitCode === EXIT.badInput &&
        e.message.includes(`--backend ${backend} never compiles`) &&
        e.message.includes("backends that compile it: wgsl-absorbed"),
    );
  }
});

Deno.test({
  name: "CLI: a planted fault no selected case would execute exits 2 before any case runs",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const filter = "preset=tiny;layout=bshd;sq=4;dtype=f32;causal=1;varlen=none;path=";
      const runs: [string[], RegExp][] = [
        [["--filter", `${filter}expanded`], /kpe-left-out would never execute in this run/],
        [
          ["--filter", `${filter}absorbed`, "--backend", "wgsl-expanded"],
          /rewrites absorbed\.wgsl, which --backend wgsl-expanded never compiles/,
        ],
      ];
      for (const [i, [args, message]] of runs.entries()) {
        const out = `${dir}/out${i}`;
        // the device this process has (the child inherits the environment: Vulkan or GL)
        const r = await runCli(["run", ...args, "--plant-fault", "kpe-left-out", "--out", out]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, message);
        assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
        assert.ok(!/ pass |cases:/.test(r.stdout), r.stdout);
        assert.ok(!(await Deno.stat(`${out}/results.jsonl`).then(() => true, () => false)));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("run --help: --plant-fault says not every case runs the fault, and when it is refused", async () => {
  const r = await runCli(["run", "--help"]);
  assert.equal(r.code, 0);
  const help = r.stdout.replace(/\s+/g, " ");
  // it read "run every case with a planted fault" while cases that do not compile the
  // faulted file run clean
  assert.doesNotMatch(help, /run every case with a planted fault/);
  assert.match(
    help,
    /A case that cannot show it \(its kernels do not execute it, or its backend runs it where no input shows it\) is warned of and counted in the reports; a selection where none can is exit 2/,
  );
  // a fault no case caught was exit 0 with a warning: now its own code, said
  assert.match(
    help,
    /exit 1: caught, its cases failed; exit 4: no case failed, the fault slipped through, the cases that ran with it named, or those that errored: an error is not a check catching it/,
  );
});

Deno.test("uncaughtFaultLine: a case that ran the clean kernels did not let the fault slip", () => {
  const clean = [{ id: "b", reason: "runs on wgsl-expanded" }];
  const pass = (id: string) => ({ id, status: "pass" as const });
  const line = uncaughtFaultLine(
    { plantedFault: "kpe-left-out", plantedFaultClean: clean, results: [pass("a"), pass("b")] },
    "drops k_pe",
  );
  assert.match(
    line,
    /^error: --plant-fault kpe-left-out was not caught: no case failed; the 1 case that ran with it passed \(a\), 1 could not show it, /,
  );
  assert.match(line, /\(the fault: drops k_pe\); exit 4$/);
  // every case clean: nothing slipped through, a warning
  assert.match(
    uncaughtFaultLine({
      plantedFault: "kpe-left-out",
      plantedFaultClean: clean,
      results: [pass("b")],
    }, "x"),
    /^warning: --plant-fault kpe-left-out: every case that ran \(1\) could not show it/,
  );
  // a stopped run (exit 130): not "exit 4", the cases not run may catch it
  const stopped = uncaughtFaultLine(
    { plantedFault: "f", plantedFaultClean: [], results: [pass("a")], interrupted: true },
    "x",
  );
  assert.equal(
    stopped,
    "warning: --plant-fault f: no case failed of the 1 case run before the stop; the cases " +
      "not run may catch it (--resume runs them)",
  );
  // six that passed with it: five named, the rest counted
  const six = ["a", "c", "d", "e", "f", "g"].map(pass);
  assert.match(
    uncaughtFaultLine({ plantedFault: "f", plantedFaultClean: [], results: six }, "x"),
    /the 6 cases that ran with it passed \(a, c, d, e, f and 1 more\), so/,
  );
});

Deno.test("a --plant-fault run whose only non-passing cases errored was not caught: said, exit 4", () => {
  const res = (id: string, status: "pass" | "fail" | "error" | "unexpected") => ({ id, status });
  const errored = {
    plantedFault: "kpe-left-out",
    plantedFaultClean: [],
    results: [res("a", "error"), res("b", "pass")],
  };
  // it was exit 1 and "its failures show the checks catching the fault": a timeout or a
  // compile error (or the fault's pattern gone) read as the self-test's "caught"
  assert.equal(faultUncaught(errored), true);
  assert.equal(faultSlipped(errored), true);
  assert.equal(
    uncaughtFaultLine(errored, "drops k_pe"),
    "error: --plant-fault kpe-left-out was not caught: no parity check failed; the 1 case " +
      "that ran with it passed (b), 1 case errored or was decided other than expected (a), " +
      "which is not a check catching it, so this run does not show the checks catching it: " +
      "its cases may not reach the faulted code (the fault: drops k_pe); exit 4",
  );
  // a Ctrl-C during the last case: the exit is 130 (said on the next line), not 4
  assert.match(
    uncaughtFaultLine(errored, "drops k_pe", { stoppedBy: "SIGINT" }),
    /\(the fault: drops k_pe\); exit 130 \(SIGINT came during the last case\)$/,
  );
  const only = { ...errored, results: [res("a", "error"), res("c", "unexpected")] };
  assert.match(
    uncaughtFaultLine(only, "x"),
    /no parity check failed; 2 cases errored or were decided other than expected \(a, c\), which is not a check catching it, so this run does not show the checks catching it: fix what the errors say and run it again \(the fault: x\); exit 4$/,
  );
  assert.match(
    plantedFaultText({ ...only, shardIds: ["a", "c"] }) ?? "",
    /but no parity check failed/,
  );
  // a parity failure beside the error: caught
  const caught = { ...errored, results: [res("a", "error"), res("b", "fail")] };
  assert.equal(faultUncaught(caught), false);
  assert.equal(faultSlipped(caught), false);
  // every case clean: a warning, not exit 4
  const clean = {
    ...errored,
    plantedFaultClean: [{ id: "b", reason: "r" }],
    results: [res("b", "pass")],
  };
  assert.equal(faultSlipped(clean), false);
});

Deno.test({
  name: "CLI: run --plant-fault whose case timed out exits 4, not 1 (caught)",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await runCli([
        "run",
        "--filter",
        "preset=tiny;path=absorbed;layout=bshd;sq=1;dtype=f32;causal=1;varlen=none;b=2;sk=20",
        "--plant-fault",
        "kpe-left-out",
        "--case-timeout",
        "0.001",
        "--repeats",
        "0",
        "--out",
        dir,
      ]);
      assert.equal(r.code, 4, r.stdout + r.stderr);
      assert.match(r.stderr, /kpe-left-out was not caught: no parity check failed; 1 case errored/);
      // the case a --case-timeout ended, not its kernels: the resume that runs it again is
      // named (a run that went on to its end said nothing of it)
      assert.ok(
        r.stderr.includes(
          "1 case ended by a device loss or --case-timeout, not by its kernels " +
            "(preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1): to run " +
            "it again, keeping the rest: deno task harness run --matrix smoke --filter " +
            "'preset=tiny;path=absorbed;layout=bshd;sq=1;dtype=f32;causal=1;varlen=none;b=2;sk=20' " +
            `--plant-fault kpe-left-out --repeats 0 --case-timeout 0.001 --out ${dir} --resume ` +
            "(with a longer --case-timeout for a case that timed out)\n",
        ),
        r.stderr,
      );
      const summary = await Deno.readTextFile(`${dir}/summary.md`);
      assert.doesNotMatch(summary, /failures show the checks catching the fault/);
      assert.match(summary, /was not caught: no parity check failed/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "run --plant-fault that no case fails on: exit 4 naming the cases it slipped through",
  // the case slips through on lavapipe's tiles; the GL fallback's capped workgroup memory
  // plans other tiles, where this data shows the fault (caught, exit 1)
  ignore: !gpu || backendChoice().backend === "gl",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      // one decode case over two key tiles (64 + 1 keys): its split walks the second tile,
      // where the fault can show, but the one key there does not raise a row's max
      const matrix = `${dir}/m.json`;
      await Deno.writeTextFile(
        matrix,
        JSON.stringify({
          name: "one",
          groups: [{
            axes: {
              preset: "tiny",
              path: "absorbed",
              dtype: "f32",
              b: 1,
              sq: 1,
              sk: 65,
              layout: "bshd",
              causal: true,
            },
          }],
        }),
      );
      const r = await runCli([
        "run",
        "--matrix",
        matrix,
        "--plant-fault",
        "tiled-sum-not-rescaled",
        "--repeats",
        "0",
        "--out",
        `${dir}/out`,
      ]);
      // it ended on a green count line and exit 0: a CI self-test read the fault as caught
      // (or at least the run as fine); now exit 4, apart from a caught fault's 1, naming the
      // case that ran with the fault and passed
      assert.equal(r.code, 4, r.stderr);
      assert.match(
        r.stderr,
        /error: --plant-fault tiled-sum-not-rescaled was not caught: no case failed; the 1 case that ran with it passed \(preset=tiny;path=absorbed;dtype=f32;b=1;sq=1;sk=65;layout=bshd;causal=1\), so this run does not show the checks catching it: its cases may not reach the faulted code \(the fault: /,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a fault whose code needs a partial query tile, several key tiles or a wrapped mask row cannot show without one", async () => {
  // Each pair: the largest tiny case whose plan runs the faulted code where no input shows
  // it, and the smallest that can show it (both checked on lavapipe: the first's faulty
  // output is bit for bit the clean one, the second's is caught). It said "was not caught:
  // the N cases that ran with it passed" (exit 4) for the first.
  const pairs: [string, [number, number], [number, number], RegExp][] = [
    [
      "partial-tile-row-written",
      [4, 40],
      [5, 40],
      /every query tile of its plan is full \(4 queries a tile\)/,
    ],
    ["expanded-partial-tile-row-written", [4, 40], [5, 40], /every query tile of its plan is full/],
    [
      "tiled-sum-not-rescaled",
      [1, 64],
      [1, 65],
      /no KV split of its plan walks more than one key tile \(64 keys a key tile, 1 KV split\)/,
    ],
    [
      "tiled-prefetch-same-tile",
      [1, 64],
      [1, 65],
      /no KV split of its plan walks more than one key tile/,
    ],
    ["fa2-sum-not-rescaled", [1, 32], [1, 33], /no KV split .* \(32 keys a key tile, 1 KV split\)/],
    [
      "tiled-mask-tile-relative",
      [3, 64],
      [3, 65],
      /no query of its plan sees fewer keys than where a key tile its split walks starts/,
    ],
    [
      "fa2-mask-tile-relative",
      [3, 32],
      [3, 33],
      /no query of its plan sees fewer keys than where a key tile/,
    ],
    [
      "gemm-expanded-tile-keys-short",
      [2, 16],
      [2, 17],
      /no query tile of its plan \(16 queries a tile\) has a query that sees keys past its first query's/,
    ],
  ];
  for (const [id, [sq0, sk0], [sq1, sk1], why] of pairs) {
    const f = fault(id);
    const shape = {
      preset: "tiny",
      b: 1,
      causal: true,
      layout: "bshd",
      dtype: f.scenario.dtype,
      path: f.scenario.path,
    };
    const blind = await faultMiss(cases({ ...shape, sq: sq0, sk: sk0 }), f, caps);
    assert.equal(blind?.size, 1, `${id}: ${blind && [...blind.keys()]}`);
    const [reason] = blind!.keys();
    assert.match(reason, /^its plan executes it but no input can show it there: /, id);
    assert.match(reason, why, id);
    assert.equal(await faultMiss(cases({ ...shape, sq: sq1, sk: sk1 }), f, caps), null, id);
    // its own scenario still shows it
    assert.equal(
      await faultMiss(
        cases({
          preset: f.scenario.preset,
          dtype: f.scenario.dtype,
          path: f.scenario.path,
          b: (f.scenario.layout as { batch: number }).batch,
          sq: (f.scenario.layout as { seqQ: number }).seqQ,
          sk: (f.scenario.layout as { seqK: number }).seqK,
          causal: true,
          layout: "bshd",
        }),
        f,
        caps,
      ),
      null,
      `${id}: scenario`,
    );
  }
  // forced KV splits: 200 keys in 4 splits of 50 walk one 64-key tile each (the faulty
  // output bit for bit the clean one on lavapipe), in 3 splits of 67 two; the FA2 kernel's
  // splits are whole 32-key tiles: 100 keys in 4 splits one tile each, in 3 two
  const splitPairs: [string, number, number][] = [
    ["tiled-sum-not-rescaled", 200, 64],
    ["tiled-prefetch-same-tile", 200, 64],
    ["fa2-sum-not-rescaled", 100, 32],
  ];
  for (const [id, sk, kt] of splitPairs) {
    const f = fault(id);
    const shape = {
      preset: "tiny",
      b: 1,
      sq: 1,
      sk,
      causal: true,
      layout: "bshd",
      path: f.scenario.path,
    };
    const four = await faultMiss(cases({ ...shape, splits: 4 }), f, caps);
    assert.deepEqual(four && [...four.keys()], [
      "its plan executes it but no input can show it there: no KV split of its plan walks " +
      `more than one key tile (${kt} keys a key tile, 4 KV splits): the faulted code changes ` +
      "only a split's later tiles",
    ], id);
    assert.equal(await faultMiss(cases({ ...shape, splits: 3 }), f, caps), null, id);
  }
  // 40 x 70 in 3 splits: each split of the tiled kernel's 8-query tiles walks one key tile,
  // starting below every row's visible count (bit for bit clean on lavapipe); the FA2
  // kernel's 64-query tile still walks a tile past its first rows' counts (caught)
  const prefill = { preset: "tiny", b: 1, sq: 40, sk: 70, causal: true, layout: "bshd", splits: 3 };
  const tiledMask = await faultMiss(
    cases({ ...prefill, path: "absorbed" }),
    fault("tiled-mask-tile-relative"),
    caps,
  );
  assert.match([...tiledMask?.keys() ?? []].join(), /no query of its plan sees fewer keys/);
  assert.equal(
    await faultMiss(cases({ ...prefill, path: "expanded" }), fault("fa2-mask-tile-relative"), caps),
    null,
  );
  // a run of only such cases is refused before it runs (exit 2), where it ran every case
  // and said the fault was not caught
  const small = cases({ preset: "tiny", b: 2, sq: [1, 3], sk: [8, 15], path: "absorbed" });
  await assert.rejects(
    () => checkFaultReached(small, fault("partial-tile-row-written"), caps),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /partial-tile-row-written would never show in this run/);
      assert.match(e.message, /4 cases would not show it: its plan executes it but no input/);
      // where it shows: the hint's filter alone selects the same cases again
      assert.match(
        e.message,
        /; it shows only in a case with a partial query tile \(queries per sequence not a multiple of its plan's query tile\); select cases it shows in, e\.g\. --filter 'preset=tiny;path=absorbed;dtype=f32' \(its own case: b=1, sq=6, sk=40, causal\)$/,
      );
      return true;
    },
  );
});

Deno.test("tiled-f16-partial-scores shows only where the f16 rounding of the scores passes the f16 tolerance: every preset's attention case over 4 keys or more, not a layer", async () => {
  // Under the f16 absorbed cell derived while the absorbed query was f16 (cos_diff 2.3e-7),
  // tiny's cases ran it and passed, and the reach said they could not show it. Under session
  // 62's (1.6e-9), measured on lavapipe: the smoke matrix's 22 tiny and tiny-yarn f16 absorbed
  // cases, seeds 1 to 20, caught it in all 440 runs (13x the tolerance at the least), and
  // decodes over 4 to 64 keys in all 72: a pass there is the fault not caught (exit 4).
  const f = fault("tiled-f16-partial-scores");
  const f16 = { dtype: "f16", path: "absorbed", b: 2, layout: "bshd" };
  const small = cases({ ...f16, preset: ["tiny", "tiny-yarn"], sq: [1, 4], sk: [4, 20] });
  assert.deepEqual(await faultMisses(small, f, caps), []);
  const passed = {
    plantedFault: f.id,
    plantedFaultClean: [],
    results: small.map((c) => ({ id: c.id, status: "pass" as const })),
  };
  assert.equal(faultSlipped(passed), true);
  // over fewer than 4 keys, or in a layer case: not
  const lite = { ...f16, preset: "deepseek-v2-lite", sq: 1 };
  const few = await faultMiss(cases({ ...lite, sk: [2, 3] }), f, caps);
  assert.deepEqual(
    [...few?.keys() ?? []],
    [2, 3].map((n) =>
      "its plan executes it but no input can show it there: no query of it sees 4 keys (at " +
      `most ${n}): over fewer, the f16 rounding of the scores moves the output less than the ` +
      "f16 tolerance"
    ),
  );
  const layer = await faultMiss(
    cases({ ...lite, mode: "layer", sq: 64, sk: 64, b: 1 }),
    f,
    caps,
  );
  assert.match([...layer?.keys() ?? []].join(), /it is a layer case, whose f16 tolerance/);
  // and a run of only such cases is refused before it runs (exit 2), naming where it shows
  await assert.rejects(
    () => checkFaultReached(cases({ ...f16, preset: "tiny", sq: 1, sk: 3 }), f, caps),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /tiled-f16-partial-scores would never show in this run/);
      assert.match(
        e.message,
        /it shows only in an f16 attention case \(not a layer case\) whose scores the f16 rounding moves past the f16 tolerance \(every published preset's\), in which some query sees 4 keys or more; /,
      );
      return true;
    },
  );
});

Deno.test("a fault that reads a sequence's keys from the key buffer's start cannot show in a case of one sequence", async () => {
  // smoke's b=1 prefills ran tiled-sequence-start-ignored and gemm-sequence-start-ignored
  // and passed (their only sequence starts at key 0: the faulty read is the right one), so
  // `--filter 'preset=tiny;b=1'` said "not caught", exit 4; every b=2 and thd case failed
  for (const id of ["tiled-sequence-start-ignored", "gemm-sequence-start-ignored"]) {
    const f = fault(id);
    const one = { preset: "tiny", dtype: "f32", path: "absorbed", sq: 40, sk: 70, b: 1 };
    const miss = await faultMiss(cases(one), f, caps);
    assert.deepEqual(miss && [...miss.keys()], [
      "its plan executes it but no input can show it there: its keys are one sequence's, " +
      "from the key buffer's first key: read from the buffer's start they are the same keys",
    ], id);
    assert.equal(await faultMiss(cases({ ...one, b: 2 }), f, caps), null, id);
    assert.equal(await faultMiss(cases({ ...one, layout: "thd", b: 2 }), f, caps), null, id);
    await assert.rejects(
      () => checkFaultReached(cases(one), f, caps),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message.includes(
          "it shows only in a case of several sequences (b > 1, or packed thd sequences), " +
            "whose later sequences' keys start past the key buffer's first key;",
        ),
    );
  }
});

Deno.test("a fault in the dense kernel's packed decode tile cannot show in a prefill plan", async () => {
  // smoke's tiny f16 expanded prefills (4-query tiles, and the layer's 12 queries) ran
  // expanded-packed-scores-hi-dropped and expanded-packed-values-hi-lost unchanged (the
  // code is under `if (QT == 1u)`) and passed: a run of them said "not caught", exit 4
  for (const id of ["expanded-packed-scores-hi-dropped", "expanded-packed-values-hi-lost"]) {
    const f = fault(id);
    const f16 = { ...tiny, dtype: "f16", path: "expanded" };
    const prefill = await faultMiss(cases(f16), f, caps);
    assert.deepEqual(prefill && [...prefill.keys()], [
      "its plan executes it but no input can show it there: its plan runs prefill tiles (4 " +
      "queries a tile): the faulted code is the decode tile's (one query a tile)",
    ], id);
    assert.equal(await faultMiss(cases({ ...f16, sq: 1 }), f, caps), null, id);
  }
});

Deno.test("a fault in the gemm softmax's workgroup order cannot show where one workgroup holds every row", async () => {
  // smoke's 24 tiny decodes (2 tokens x 4 heads: one 8-row workgroup) ran
  // gemm-softmax-order-folded and passed: a run of them said "not caught", exit 4
  const f = fault("gemm-softmax-order-folded");
  for (const path of ["absorbed", "expanded"]) {
    const decode = { ...tiny, sq: 1, path };
    const miss = await faultMiss(cases(decode), f, caps);
    assert.deepEqual(miss && [...miss.keys()], [
      "its plan executes it but no input can show it there: its 8 (query token, head) rows " +
      "fit one softmax workgroup of 8: the faulted order changes only which workgroup takes " +
      "which of several blocks",
    ], path);
    assert.equal(await faultMiss(cases({ ...decode, b: 3 }), f, caps), null, path);
  }
});

Deno.test("gemm-masked-slots-kept cannot show where every query sees a multiple of 4 keys", async () => {
  // smoke's tiny decodes of 20 keys, its non-causal runs and the paged thd decode (0 and
  // 100 keys) ran it and passed: the softmax walks whole vec4s of a row's keys, so a row of
  // 4n keys has no masked slot to keep; a run of them said "not caught", exit 4
  const f = fault("gemm-masked-slots-kept");
  const decode = { ...tiny, sq: 1, path: "absorbed" };
  const whole = (counts: string) =>
    "its plan executes it but no input can show it there: every query of it sees a multiple " +
    `of 4 keys (${counts}): its score rows end on whole vec4s, so no row has a masked slot ` +
    "for the faulted softmax to keep";
  const miss = await faultMiss(cases({ ...decode, causal: [true, false] }), f, caps);
  assert.deepEqual(miss && [...miss], [[whole("20"), 2]]);
  assert.deepEqual(
    [...(await faultMissCounts(cases({ ...tiny, path: "absorbed", causal: false }), f, caps))],
    [[whole("20"), 1]],
  );
  // 21 keys, or a causal prefill (its queries see 17 to 20 keys): a masked slot, shown
  assert.equal(await faultMiss(cases({ ...decode, sk: 21 }), f, caps), null);
  assert.deepEqual(await faultMisses(cases({ ...tiny, path: "absorbed" }), f, caps), []);
  await assert.rejects(
    () => checkFaultReached(cases(decode), f, caps),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /gemm-masked-slots-kept would never show in this run/);
      assert.match(
        e.message,
        /it shows only in a case in which some query sees a number of keys that is not a multiple of 4/,
      );
      return true;
    },
  );
});

Deno.test("an f16 accumulation fault shows in any f16 attention case and f16 absorbed layer case, in an expanded layer case only over long score chains", async () => {
  // Measured on lavapipe over smoke's f16 cases: tiny's and tiny-yarn's layer cases ran
  // f16-accumulation, tiled-f16-accumulation and fa2-f16-accumulation and passed the layer's
  // shared f16 cell, so `--filter 'preset=tiny;mode=layer;dtype=f16'` was refused ("would
  // never show"). Since session 62 the absorbed path's layer cell catches the first two
  // (198 of 200 runs, parity/tolerance.ts); the expanded path's still needs a chain of 192
  // (V2-Lite's), and a tiny expanded layer case is still refused.
  const layer = { mode: "layer", dtype: "f16", layout: "bshd", b: 2, sq: 12, sk: 12 };
  const lite = { ...layer, preset: "deepseek-v2-lite", layout: "thd", varlen: "normal", sq: 6 };
  const short = (chain: number) =>
    "its plan executes it but no input can show it there: it is a layer case whose scores " +
    `are summed in f16 chains of ${chain} products: the f16 accumulation moves its output ` +
    "(after o_proj) less than the layer's f16 tolerance (cos_diff); chains of 64 or more " +
    "move it past";
  for (
    const [id, path, tinyChain] of [
      ["f16-accumulation", "absorbed", null],
      ["tiled-f16-accumulation", "absorbed", null],
      ["fa2-f16-accumulation", "expanded", 24],
    ] as const
  ) {
    const f = fault(id);
    const tinyLayer = cases({ ...layer, preset: ["tiny", "tiny-yarn"], path });
    assert.deepEqual(
      [...(await faultMissCounts(tinyLayer, f, caps))],
      tinyChain === null ? [] : [[short(tinyChain), 2]],
      id,
    );
    assert.equal(await faultMiss(cases({ ...lite, sk: 6, path }), f, caps), null, id);
    // every f16 attention case can show it: a pass there is still "not caught" (exit 4)
    const attention = cases({ ...tiny, dtype: "f16", path, sq: [1, 4], layout: "thd" });
    assert.deepEqual(await faultMisses(attention, f, caps), [], id);
    const passed = {
      plantedFault: id,
      plantedFaultClean: [],
      results: attention.map((c) => ({ id: c.id, status: "pass" as const })),
    };
    assert.equal(faultSlipped(passed), true, id);
    if (tinyChain === null) continue;
    await assert.rejects(
      () => checkFaultReached(tinyLayer, f, caps),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, new RegExp(`${id} would never show in this run`));
        assert.match(
          e.message,
          /it shows only in an f16 attention case, an f16 absorbed layer case, or an f16 expanded layer case whose scores are summed in f16 chains of 64 products or more/,
        );
        return true;
      },
    );
  }
});

Deno.test("a fault in one variant's lines of absorbed_tiled.wgsl says so: the other variant runs the clean code", async () => {
  // tiled-f16-partial-scores rewrites `// @nosg` lines, commented out in the subgroup
  // variant, yet its refusal said "which only wgsl-absorbed-tiled, wgsl-absorbed-tiled-sg
  // compile"; the sg faults' said the same of `// @sg:` lines, commented out in the other
  const strip = (s: string) => s.replace(/\/\/.*$/gm, "").replace(/\s+/g, " ");
  const raw = await readKernelFile("absorbed_tiled.wgsl");
  for (const f of ALL_FAULTS) {
    if (f.apply.kind !== "source" || f.apply.file !== "absorbed_tiled.wgsl") continue;
    for (const subgroups of [false, true]) {
      const code = specializeSource(raw, { dtype: f.dtype ?? "f32", subgroups });
      const runs: boolean = strip(f.apply.mutate(f.apply.file, code)) !== strip(code);
      assert.equal(runs, f.subgroups === undefined || f.subgroups === subgroups, f.id);
    }
  }
  // the refusal names the variant and the backend that runs it
  const sg = cases({ ...tiny, path: "absorbed" });
  await assert.rejects(
    () => checkFaultReached(sg, fault("sg-partials-not-summed"), caps),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes(
        "it rewrites the subgroup variant of absorbed_tiled.wgsl (its `// @sg:` lines), which " +
          "only wgsl-absorbed-tiled-sg compiles, on a device with the WebGPU feature subgroups;",
      ),
  );
  // (decodes over 3 keys: fewer than tiled-f16-partial-scores needs to show)
  const f16Few = cases({ ...tiny, dtype: "f16", sq: 1, sk: 3 });
  await assert.rejects(
    () => checkFaultReached(f16Few, fault("tiled-f16-partial-scores"), caps),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes(
        "it rewrites the non-subgroup variant of absorbed_tiled.wgsl (its `// @nosg` lines), " +
          "which only wgsl-absorbed-tiled compiles;",
      ),
  );
  // a plan of the other variant runs the clean code (a device with subgroups)
  const withSg = { ...H100_CAPS, features: [...H100_CAPS.features, "subgroups"] };
  const miss = await faultMiss(
    cases({ ...tiny, path: "absorbed" }),
    fault("tiled-partial-segment-dropped"),
    withSg,
    { backend: "wgsl-absorbed-tiled-sg" },
  );
  assert.deepEqual(miss && [...miss.keys()], [
    "its plan runs the subgroup variant of absorbed_tiled.wgsl (its `// @sg:` lines), in " +
    "which the lines the fault rewrites are comments: it runs the clean code",
  ]);
});

Deno.test("a source fault's rewrite changes code, not only comments, in every variant of its file it claims to run in", async () => {
  // gemm-cache-texture-vec4-shifted rewrites a `// @nopacked` line of cache_texture.wgsl: a
  // comment in the copy into packed f16 rows, the only copy a gpu-class device's f16
  // wgsl-expanded-gemm plan makes (q, K and V all packed), yet --plant-fault counted such a
  // case as one that shows it: it ran clean and the run said "not caught" (exit 4)
  const strip = (s: string) => s.replace(/\/\/.*$/gm, "").replace(/\s+/g, " ");
  const subsets = (xs: string[]): string[][] =>
    xs.reduce<string[][]>((all, x) => [...all, ...all.map((s) => [...s, x])], [[]]);
  const textureSwitches = ["tex", "stex", "ptex"];
  const dead: string[] = [];
  for (const f of ALL_FAULTS) {
    if (f.apply.kind !== "source") continue;
    const raw = await readKernelFile(f.apply.file);
    const sgs = /^\/\/ @enable-subgroups$/m.test(raw) ? [false, true] : [false];
    for (const dtype of ["f32", "f16"] as const) {
      if (f.dtype !== undefined && f.dtype !== dtype) continue;
      for (const subgroups of sgs) {
        if (f.subgroups !== undefined && f.subgroups !== subgroups) continue;
        const reads = lineSwitches(raw).filter((s) => textureSwitches.includes(s));
        for (const on of subsets(lineSwitches(raw))) {
          const packed = on.includes("packed");
          // what the fault declares of the plans it runs in (runner/fault_reach.ts)
          if (f.packedTexture === "unpacked" && packed) continue;
          if ((f.packedTexture === "any" || f.packedTexture === "cacheTexture") && !packed) {
            continue;
          }
          if (f.scenario.deviceClass === "gpu" && on.includes("tex")) continue;
          // a read through a texture the plan lacks (a switch off: every bundled plan of
          // these files on lavapipe and an H100 has its textures; the variant with them on
          // is checked)
          if (reads.some((s) => !on.includes(s))) continue;
          const code = specializeSource(raw, { dtype, subgroups, switches: on });
          if (strip(f.apply.mutate(f.apply.file, code)) === strip(code)) {
            dead.push(`${f.id}: ${[dtype, ...(subgroups ? ["subgroups"] : []), ...on].join(", ")}`);
          }
        }
      }
    }
  }
  assert.deepEqual(dead, []);
  // the case it missed: every texture of the plan packed
  const f16 = cases({ ...tiny, dtype: ["f32", "f16"], path: "expanded" });
  const vec4 = fault("gemm-cache-texture-vec4-shifted");
  assert.deepEqual((await faultMisses(f16, vec4, H100_CAPS)).map((m) => [m.id, m.reason]), [[
    f16[1].id,
    "every texture its plan copies rows into holds packed f16 rows (rgba32uint): the faulted " +
    "code copies only into an unpacked one (its lines are comments in the packed copy), so " +
    "it runs the clean code",
  ]]);
  // a cpu-class device's plan copies the K/V expansion's latent rows unpacked: it runs
  assert.deepEqual(await faultMisses(f16, vec4, caps), []);
});
