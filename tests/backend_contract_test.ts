/**
 * The backend contract (docs/backends.md): modules are checked on load, the bundled
 * backends satisfy the same contract, the naive example runs through it and matches
 * the float64 reference, a broken user backend is caught, a CPU plan never reaches
 * the GPU, and the keys-per-block rule has one home.
 *
 * @module
 */
import { floating as notAwaitedFloating } from "./fixtures/backends/launch_not_awaited.ts";
import assert from "node:assert/strict";
import { keysPerBlock } from "../adapter/loop_budget.ts";
import { presetSpec } from "../adapter/presets.ts";
import { isGpuPlan, resolve } from "../adapter/resolve.ts";
import type { GpuPlan } from "../adapter/types.ts";
import { runAttention } from "../kernels/attention.ts";
import {
  isUserLaunchError,
  loadBackendModule,
  registerBackendModule,
  validateBackendModule,
} from "../kernels/backend_module.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { BUNDLED_MODULES } from "../kernels/bundled_modules.ts";
import { launcherOf, LaunchKit } from "../kernels/launch.ts";
import { loadKernel } from "../kernels/source.ts";
import { pipelineCacheOf } from "../kernels/attention.ts";
import { makeAttentionInputs } from "../reference/inputs.ts";
import * as naive from "../examples/backends/naive/mod.ts";
import { gpu, gpuTest } from "./gpu_helpers.ts";
import { runCli, runCliInProcess, runTinyLayer, writeTinyInput } from "./helpers_cli.ts";
import { currentBackend } from "../drift/device_key.ts";
import { NOTHING_LEFT_TO_WAIT_FOR } from "../main.ts";
import { LAVAPIPE_CAPS } from "./caps_fixtures.ts";
import { unusedBackends } from "../report/unused_backends.ts";
import { checkBackendId } from "../cli/backend_options.ts";
import type { CaseResult } from "../results/types.ts";

const NAIVE = "examples/backends/naive/mod.ts";

Deno.test("the naive example and the bundled backends satisfy the contract", () => {
  assert.equal(validateBackendModule({ ...naive }, NAIVE).id, "naive");
  for (const m of BUNDLED_MODULES) {
    assert.equal(validateBackendModule({ ...m }, m.id).id, m.id);
  }
});

Deno.test("a module missing check, or of another contract version, is refused naming it", () => {
  assert.throws(
    () => validateBackendModule({ ...naive, check: undefined }, "x.ts"),
    /x\.ts: not a backend module\n\s+check: \(missing\)|check: .*must be exported/,
  );
  assert.throws(
    () => validateBackendModule({ ...naive, contractVersion: 2 }, "x.ts"),
    /contractVersion: 2 is not supported: this harness implements backend contract version 1/,
  );
  // the value found, not only its type
  assert.throws(
    () => validateBackendModule({ ...naive, contractVersion: "1" }, "x.ts"),
    /contractVersion: "1" must be a number, found a string/,
  );
  assert.throws(
    () => validateBackendModule({ ...naive, path: "dense" }, "x.ts"),
    /path: .*must be/,
  );
  assert.throws(() => validateBackendModule({ ...naive, launch: 3 }, "x.ts"), /launch: .*function/);
});

Deno.test("--backend of a misspelt id, or of a module's path, says which it likely meant", () => {
  // both got the list of registered ids alone
  assert.throws(
    () => checkBackendId("wgsl-absorbd"),
    /--backend: "wgsl-absorbd" is not a registered backend; did you mean "wgsl-absorbed"\? registered: wgsl-absorbed, /,
  );
  assert.throws(
    () => checkBackendId("./mine/mod.ts"),
    /"\.\/mine\/mod\.ts" is not a registered backend; a module's path goes to --backend-module, and --backend takes the id that module exports \(its `id`\); registered: /,
  );
  assert.throws(
    () => checkBackendId("auto:absorbd", { allowAuto: true }),
    /did you mean "auto:absorbed"\? .*, or auto, auto:absorbed, auto:expanded \(load a user backend/,
  );
});

Deno.test("a module whose exports are misspelt, or in its default export, is told so", () => {
  // both said only "must be exported", of a module that had every export, under another name
  const { check, id, ...rest } = naive;
  assert.throws(
    () => validateBackendModule({ ...rest, checks: check, ID: id }, "x.ts"),
    (e: Error) => {
      assert.match(
        e.message,
        /\n {2}id: \(missing\) must be exported \(a string; see docs\/backends\.md\); the module exports "ID": is that it, misspelled\?\n/,
      );
      assert.match(e.message, /\n {2}check: .*; the module exports "checks": is that it/);
      return true;
    },
  );
  assert.throws(
    () => validateBackendModule({ default: { ...naive } }, "x.ts"),
    (e: Error) => {
      assert.match(
        e.message,
        /\n {2}check: \(missing\) must be exported \(a function; see docs\/backends\.md\); the module's default export has "check", but the harness reads named exports only: export it by name \(`export function check\(\.\.\.\)`\)/,
      );
      assert.match(e.message, /id: .*\(`export const id = \.\.\.`\)/);
      return true;
    },
  );
  assert.throws(
    () => validateBackendModule({}, "x.ts"),
    /id: \(missing\) must be exported \(a string; see docs\/backends\.md\)\n/,
  );
});

Deno.test("CLI: a broken backend module is exit 2 naming the problem, no stack trace", async () => {
  const missing = await runCli([
    "explain",
    "tiny",
    "--no-device",
    "--backend-module",
    "tests/fixtures/backends/missing_check.ts",
  ]);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /missing_check\.ts: not a backend module/);
  assert.match(missing.stderr, /check/);
  assert.doesNotMatch(missing.stderr, / {4}at /);
  const version = await runCliInProcess([
    "explain",
    "tiny",
    "--no-device",
    "--backend-module",
    "tests/fixtures/backends/wrong_version.ts",
  ]);
  assert.equal(version.code, 2, version.stderr);
  assert.match(version.stderr, /contractVersion: 99 is not supported/);
  const absent = await runCliInProcess([
    "explain",
    "tiny",
    "--no-device",
    "--backend-module",
    "nope.ts",
  ]);
  assert.equal(absent.code, 2, absent.stderr);
  assert.match(absent.stderr, /nope\.ts: not a backend module\n.*could not be loaded/);
  // A syntax error, and a throw at import, name the line and column in the author's file.
  const dir = await Deno.makeTempDir({ prefix: "mla-backend-syntax-" });
  try {
    await Deno.writeTextFile(`${dir}/syntax.ts`, 'export const id = "mine" +;\n');
    await Deno.writeTextFile(`${dir}/throws.ts`, '\nthrow new Error("boom: config missing");\n');
    for (
      const [file, re] of [
        ["syntax.ts", /could not be loaded: SyntaxError: .*\(at .*syntax\.ts:1:27\)/],
        ["throws.ts", /could not be loaded: boom: config missing \(at .*throws\.ts:2:7\)/],
      ] as const
    ) {
      const r = await runCliInProcess([
        "explain",
        "tiny",
        "--no-device",
        "--backend-module",
        `${dir}/${file}`,
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, / {4}at /);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const unknown = await runCliInProcess(["explain", "tiny", "--no-device", "--backend", "naive"]);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /--backend: "naive" is not a registered backend/);
});

Deno.test("CLI: explain shows the naive backend's plan, or every reason", async () => {
  const caps = "tests/fixtures/caps_lavapipe.json";
  const hasCaps = await Deno.stat(caps).then(() => true, () => false);
  const args = hasCaps ? ["--caps", caps] : ["--no-device"];
  const r = await runCli([
    "explain",
    "deepseek-v2-lite",
    "--backend-module",
    NAIVE,
    "--backend",
    "naive",
    ...args,
  ]);
  if (hasCaps) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /plan: naive \(requested naive\), path absorbed/);
    // the module's own description, the line docs/backends.md promises
    assert.match(r.stdout, /^ {2}naive: example: one invocation per \(query, head\)/m);
  } else {
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /device\.none/);
  }
  // Past the loop budget of a lavapipe-like device the naive kernel (no KV splits) says why.
  const long = await runCli([
    "explain",
    "deepseek-v2-lite",
    "--backend-module",
    NAIVE,
    "--backend",
    "naive",
    "--seq-k",
    "4096",
    "--json",
    ...args,
  ]);
  const e = JSON.parse(long.stdout);
  assert.equal(e.resolution.kind, "unsupported");
  if (hasCaps) {
    assert.ok(e.resolution.reasons.some((x: { code: string }) => x.code === "device.loop-budget"));
  }
  assert.doesNotMatch(r.stderr + long.stderr, /warning: --backend-module/);
});

Deno.test("CLI: explain and layer given a module without --backend warn that auto does not pick it, as run does", async () => {
  const warning = new RegExp(
    `^warning: --backend-module ${NAIVE.replaceAll(".", "\\.")} registers backend naive, ` +
      "which this (explanation|layer) does not use: auto picks only the bundled backends, so " +
      "select it with --backend naive$",
    "m",
  );
  // before, the bundled backend's plan was printed and nothing said the module went unused
  const [plain, asCase, layer] = await Promise.all([
    runCli(["explain", "tiny", "--no-device", "--backend-module", NAIVE]),
    runCli([
      "explain",
      "--case",
      "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1",
      "--no-device",
      "--backend-module",
      NAIVE,
    ]),
    runCli([
      ...["layer", "--config", "tiny", "--input", "/nonexistent/x.safetensors"],
      ...["--out", "/nonexistent/y.safetensors", "--backend-module", NAIVE],
    ]),
  ]);
  for (const r of [plain, asCase, layer]) assert.match(r.stderr, warning);
  assert.equal(layer.code, 2, layer.stderr);
  // the case names it on its backend axis, or --backend does: nothing to say
  const named = await runCli([
    "explain",
    "--case",
    "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1",
    "--no-device",
    "--backend-module",
    NAIVE,
    "--backend",
    "naive",
  ]);
  assert.doesNotMatch(named.stderr, /warning: --backend-module/);
  // --backend of another backend: auto picked nothing, so the line does not blame it
  const other = await runCli([
    ...["explain", "tiny", "--no-device", "--backend-module", NAIVE],
    ...["--backend", "wgsl-absorbed"],
  ]);
  assert.match(
    other.stderr,
    /^warning: --backend-module \S+ registers backend naive, which this explanation does not use: --backend wgsl-absorbed was asked for instead, so select it with --backend naive$/m,
    other.stderr,
  );
  // a case whose matrix names another backend on its axis, with no --backend: the case's
  // choice, not a --backend the user never gave
  const dir = await Deno.makeTempDir({ prefix: "mla-explain-axis-" });
  try {
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({
        name: "axis",
        groups: [{
          name: "g",
          axes: {
            preset: "tiny",
            path: "absorbed",
            dtype: "f32",
            b: 1,
            sq: 1,
            sk: 8,
            layout: "bshd",
            backend: "wgsl-absorbed-gemm",
          },
        }],
      }),
    );
    const axis = await runCli([
      ...["explain", "--matrix", `${dir}/m.json`, "--no-device", "--backend-module", NAIVE],
      ...[
        "--case",
        "preset=tiny;path=absorbed;dtype=f32;b=1;sq=1;sk=8;layout=bshd;causal=1;backend=wgsl-absorbed-gemm",
      ],
    ]);
    assert.match(
      axis.stderr,
      /^warning: --backend-module \S+ registers backend naive, which this explanation does not use: the case's backend axis names wgsl-absorbed-gemm, so select it with --backend naive$/m,
      axis.stderr,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "run: the naive backend passes the tiny smoke cases it supports; a planted bug fails",
  async () => {
    const out = await Deno.makeTempDir();
    try {
      const ok = await runCli([
        "run",
        "--backend-module",
        NAIVE,
        "--backend",
        "naive",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;dtype=f32;layout=thd",
        "--repeats",
        "0",
        "--out",
        `${out}/ok`,
      ]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const lines = (await Deno.readTextFile(`${out}/ok/results.jsonl`)).trim().split("\n")
        .map((l) => JSON.parse(l));
      const ran = lines.filter((r) => r.backend === "naive" && r.decision === "supported");
      assert.ok(ran.length >= 2, `naive ran ${ran.length} cases`);
      assert.ok(ran.every((r) => r.status === "pass"));
      const notRun = lines.filter((r) => r.decision === "unsupported");
      assert.ok(notRun.length > 0 && notRun.every((r) => r.reasons?.length > 0));
      const bad = await runCli([
        "run",
        "--backend-module",
        "tests/fixtures/backends/naive_wrong_scale.ts",
        "--backend",
        "naive-wrong-scale",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;dtype=f32;layout=thd",
        "--repeats",
        "0",
        "--out",
        `${out}/bad`,
      ]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /fail .*path=absorbed/);
      const planted = await runCli([
        "run",
        "--backend-module",
        NAIVE,
        "--backend",
        "naive",
        "--filter",
        "preset=tiny",
        "--plant-fault",
        "kpe-left-out",
        "--out",
        `${out}/fault`,
      ]);
      assert.equal(planted.code, 2, planted.stderr);
      assert.match(planted.stderr, /bundled kernels only/);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);

gpuTest(
  "run: a module that takes absorbQ's default (the storage dtype, contract 1) still passes its f16 cases",
  async () => {
    const out = await Deno.makeTempDir();
    try {
      const r = await runCli([
        "run",
        "--backend-module",
        "tests/fixtures/backends/naive_storage_q.ts",
        "--backend",
        "naive-storage-q",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;dtype=f16;layout=thd",
        "--repeats",
        "0",
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const lines = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n")
        .map((l) => JSON.parse(l));
      const ran = lines.filter((x) =>
        x.backend === "naive-storage-q" && x.decision === "supported"
      );
      assert.ok(ran.length >= 2, `naive-storage-q ran ${ran.length} cases`);
      assert.ok(ran.every((x) => x.status === "pass"), JSON.stringify(ran.map((x) => x.message)));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
  {
    cases: [{
      spec: "tiny",
      dtype: "f16",
      backend: "wgsl-absorbed",
      layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: false },
    }],
  },
);

gpuTest(
  "a user launch() that returns before it has encoded is asked whether it did, not left at NaN outputs or 'Encoding must not have ended'",
  async () => {
    const ctx = await gpu();
    const spec = presetSpec("tiny");
    const layout = { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true } as const;
    const hint =
      /did launch\(\) return before its commands were recorded\? .*await every promise launch\(\) starts/;
    // none of its passes encoded when it resolved: out and lse read back NaN, a parity failure
    // naming no cause; one pass left to a callback: WebGPU's bare "Encoding must not have ended"
    // The late one first: the not-awaited one's floating launch dispatches on the shared device
    // whenever its compile ends, which landed in the next run's error scope on a loaded machine
    // (a full run failed on "Buffer with 'q_nope' label has been destroyed"); it is waited for.
    for (
      const [fixture, said] of [
        [
          "launch_dispatch_late",
          /: what its launch\(\) encoded was refused by WebGPU: validation error: /,
        ],
        ["launch_not_awaited", /: launch\(\) encoded no pass \(kit\.dispatch was not called/],
      ] as const
    ) {
      const m = await loadBackendModule(`tests/fixtures/backends/${fixture}.ts`);
      const plan = resolve({ spec, dtype: "f32", backend: m.module.id, layout }, ctx.caps);
      if (!isGpuPlan(plan)) throw new Error(`not a GPU plan: ${JSON.stringify(plan)}`);
      const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
      await assert.rejects(
        () => runAttention(ctx, plan, { spec, inputs, timing: false }),
        (e: Error) => {
          assert.ok(isUserLaunchError(e), e.message);
          assert.ok(
            e.message.startsWith(`backend ${m.module.id} (module tests/fixtures/`),
            e.message,
          );
          assert.match(e.message, said);
          assert.match(e.message, hint);
          return true;
        },
      );
    }
    await Promise.all(notAwaitedFloating);
  },
);

gpuTest("a CPU plan never reaches the GPU", async () => {
  const ctx = await gpu();
  const spec = presetSpec("tiny");
  const plan = resolve({
    spec,
    dtype: "f32",
    backend: "cpu-reference",
    layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
  }, ctx.caps);
  assert.equal(plan.kind, "plan");
  if (plan.kind !== "plan") return;
  assert.equal(plan.runsOn, "cpu");
  const inputs = makeAttentionInputs(spec, plan.layout, { seed: 1 });
  // @ts-expect-error: the launcher's type refuses a plan that may run on the CPU
  const typed: GpuPlan = plan;
  await assert.rejects(
    () => runAttention(ctx, typed, { spec, inputs }),
    /runs on the cpu: it cannot run on the GPU/,
  );
});

Deno.test("keys per block: one rule, carried by the plan", () => {
  const caps = LAVAPIPE_CAPS;
  const spec = presetSpec("tiny");
  for (const seqQ of [1, 2, 3, 4]) {
    for (const backend of ["wgsl-absorbed", "wgsl-expanded"] as const) {
      const plan = resolve({
        spec,
        dtype: "f32",
        backend,
        layout: { kind: "bshd", batch: 1, seqQ, seqK: 8, causal: true },
      }, caps);
      assert.equal(plan.kind, "plan");
      if (plan.kind !== "plan") continue;
      assert.equal(plan.variant.keysPerBlock, keysPerBlock(plan.variant.queryTile));
    }
  }
  assert.equal(keysPerBlock(1), 16);
  for (const qt of [2, 3, 4, 8]) assert.equal(keysPerBlock(qt), 4);
});

gpuTest(
  "keys per block: a kernel given a block that does not match its tile refuses to compile",
  async () => {
    const ctx = await gpu();
    const cache = pipelineCacheOf(ctx);
    for (const file of ["absorbed.wgsl", "expanded.wgsl"]) {
      const params: Record<string, number> = file === "absorbed.wgsl"
        ? { QT: 4, BLOCK: 16, WG: 8, HEADS: 8, HPL: 1, KEY_VEC4: 10, VAL_VEC4: 8 }
        : { QT: 4, BLOCK: 16, WG: 8, HEADS: 8, QK_VEC4: 6, V_VEC4: 4 };
      const src = await loadKernel(file, { dtype: "f32", params });
      await assert.rejects(() => cache.get(src, { entryPoint: file.replace(".wgsl", "") }));
      const good = await loadKernel(file, {
        dtype: "f32",
        params: { ...params, BLOCK: keysPerBlock(4) },
      });
      await cache.get(good, { entryPoint: file.replace(".wgsl", "") });
    }
  },
);

Deno.test("kernels/ never resolves: nothing under kernels/ imports adapter/resolve.ts", async () => {
  for await (const e of Deno.readDir(new URL("../kernels/", import.meta.url))) {
    if (!e.name.endsWith(".ts")) continue;
    const src = await Deno.readTextFile(new URL(`../kernels/${e.name}`, import.meta.url));
    // Import statements only (doc examples may show how a caller resolves).
    assert.doesNotMatch(src, /^(import|\}).*from "\.\.\/adapter\/resolve\.ts"/m, e.name);
  }
});

/** Write a matrix file naming backends on the `backend` axis; returns its path. */
async function backendMatrix(dir: string, backends: string[]): Promise<string> {
  const path = `${dir}/m.json`;
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      name: "backend-axis",
      groups: [{
        name: "named",
        axes: {
          preset: "tiny",
          path: "absorbed",
          dtype: "f32",
          b: 2,
          sq: 1,
          sk: 20,
          layout: "thd",
          backend: backends,
        },
      }],
    }),
  );
  return path;
}

Deno.test("a matrix names backends by registered id only, never by module path (exit 2)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = await backendMatrix(dir, [NAIVE]);
    const r = await runCli(["run", "--matrix", m, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /backend.*never a module path/);
    assert.doesNotMatch(r.stderr, / {4}at /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "a matrix's backend axis: a registered id runs on it; an unloaded one is refused on load",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const m = await backendMatrix(dir, ["wgsl-absorbed-tiled", "naive"]);
      // Without --backend-module, "naive" is not registered: the matrix is refused (exit 2)
      // naming the entry and the registered ids, before any case runs.
      const r = await runCli(["run", "--matrix", m, "--repeats", "0", "--out", `${dir}/a`]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /unknown backend\n.*axes\.backend\[1\]: "naive" is not a registered backend; registered: wgsl-absorbed/,
      );
      await assert.rejects(() => Deno.stat(`${dir}/a/results.jsonl`), Deno.errors.NotFound);
      // With the module loaded on the command line, the same matrix runs it.
      const ok = await runCli([
        "run",
        "--matrix",
        m,
        "--backend-module",
        NAIVE,
        "--repeats",
        "0",
        "--out",
        `${dir}/b`,
      ]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const lines = (await Deno.readTextFile(`${dir}/b/results.jsonl`)).trim().split("\n")
        .map((l) => JSON.parse(l));
      const tiled = lines.find((x) => x.id.endsWith(";backend=wgsl-absorbed-tiled"));
      assert.equal(tiled?.status, "pass", JSON.stringify(tiled));
      assert.equal(tiled?.backend, "wgsl-absorbed-tiled");
      const ran = lines.find((x) => x.id.endsWith(";backend=naive"));
      assert.equal(ran?.backend, "naive");
      assert.equal(ran?.status, "pass");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest("kit.compile applies a user kernel's line switches, as kit.kernel does", async () => {
  const ctx = await gpu();
  const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
    dtype: "f32",
    path: "absorbed",
    cache: pipelineCacheOf(ctx),
    timer: null,
    owned: [],
  });
  // Valid WGSL only with the switch "fixed" on: its line replaces the broken one.
  const code = [
    "@group(0) @binding(0) var<storage, read_write> o: array<u32>;",
    "@compute @workgroup_size(1)",
    "fn main() {",
    "  o[0] = not_declared; // @nofixed",
    "  // @fixed: o[0] = 7u;",
    "}",
  ].join("\n");
  const source = { fileName: "switched.wgsl", code };
  assert.ok(await kit.compile(source, "main", {}, ["fixed"]));
  await assert.rejects(() => kit.compile(source, "main"), /switched\.wgsl|not_declared/);
  await assert.rejects(() => kit.compile(source, "main", {}, ["f16"]), RangeError);
});

gpuTest(
  "kit.compile refuses workgroup memory over the device's limit (wgpu created the pipeline, lavapipe ran it)",
  async () => {
    const ctx = await gpu();
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned: [],
    });
    const limit = ctx.device.limits.maxComputeWorkgroupStorageSize;
    // N f32s: over the limit by one element (N a @param, as the harness specializes it)
    const code = [
      "const N: u32 = 4u; // @param",
      "var<workgroup> s: array<f32, N>;",
      "@group(0) @binding(0) var<storage, read_write> o: array<f32>;",
      "@compute @workgroup_size(64)",
      "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; o[i] = s[i]; }",
    ].join("\n");
    const source = { fileName: "big.wgsl", code };
    await assert.rejects(
      () => kit.compile(source, "main", { N: limit / 4 + 1 }),
      (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.match(
          e.message,
          new RegExp(
            `^big\\.wgsl: entry point main declares ${limit + 16} bytes of workgroup memory ` +
              `\\(s ${limit + 4}; each rounded up to 16\\), over this device's ` +
              `maxComputeWorkgroupStorageSize ${limit}: a GPU refuses such a pipeline .*` +
              "limits\\.workgroup-storage reason",
          ),
        );
        return true;
      },
    );
    // within it: compiled (a few elements: the GL fallback compiles WebGPU's zero fill of
    // workgroup memory in time growing with the square of its elements)
    assert.ok(await kit.compile(source, "main", { N: 4 }), "within the limit: compiled");
  },
);

gpuTest(
  "kit.upProject, combineSplits and expandDense refuse a buffer smaller than they use (zeros past its end)",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f32",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned,
    });
    try {
      // 2 queries x 4 heads, kv_lora_rank 32: the latent outputs are 1024 bytes
      const plan = {
        backend: "mine",
        attention: { numHeads: 4, kvLoraRank: 32, valueWidth: 32 },
        layout: { totalQ: 2 },
        variant: { kvSplits: 3 },
      } as unknown as GpuPlan;
      const small = kit.storage(16, "x_latent");
      const fits = kit.storage(1024, "x");
      await assert.rejects(
        () => kit.upProject(plan, null as unknown as never, small),
        /^RangeError: plan of mine: upProject's x has 16 bytes; it needs 1024 \(\[2, 4, 32\]: queries x heads x kv_lora_rank, f32\): size the buffer in check\(\)/,
      );
      await assert.rejects(
        () =>
          kit.combineSplits(plan, {
            xPart: kit.storage(3 * 1024, "x_part"),
            lsePart: kit.storage(16, "lse_part"),
            x: fits,
            lse: kit.storage(32, "lse"),
          }),
        /plan of mine: combineSplits's lsePart has 16 bytes; it needs 96 \(\[3, 8\]: splits x query-heads, f32\)/,
      );
      // the expanded path's K of 2 cache rows x 4 heads x (16 + 8), declared as 64 bytes
      const dense = {
        backend: "mine",
        attention: { numHeads: 4, qkNopeHeadDim: 16, qkRopeHeadDim: 8, vChannels: 16 },
        layout: { qRows: 1, kRows: 2 },
        variant: { dtype: "f32" },
        buffers: [{ name: "q", bytes: 96 * 4 }, { name: "k", bytes: 64 }, {
          name: "v",
          bytes: 128 * 4,
        }],
      } as unknown as GpuPlan;
      await assert.rejects(
        () => kit.expandDense(dense, null as unknown as never),
        /plan of mine: expandDense's k has 64 bytes; it needs 768 \(\[2, 4, 24\]: cache rows x heads x \(nope \+ rope\), f32\)/,
      );
    } finally {
      for (const b of owned) b.destroy();
    }
  },
);

gpuTest(
  "kit.compile unrolls a user kernel's // @unroll loops when the plan asks (unrolledLoops)",
  async () => {
    const ctx = await gpu();
    const kit = (unroll: boolean) =>
      new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
        dtype: "f32",
        path: "absorbed",
        unroll,
        cache: pipelineCacheOf(ctx),
        timer: null,
        owned: [],
      });
    // A loop the unroller refuses (it breaks): valid WGSL as written.
    const code = [
      "@group(0) @binding(0) var<storage, read_write> o: array<u32>;",
      "const N: u32 = 3u;",
      "@compute @workgroup_size(1)",
      "fn main() {",
      "  for (var i = 0u; i < N; i++) { // @unroll",
      "    if (o[i] == 0u) { break; }",
      "  }",
      "}",
    ].join("\n");
    const source = { fileName: "mine.wgsl", code };
    assert.ok(await kit(false).compile(source, "main"));
    await assert.rejects(
      () => kit(true).compile(source, "main"),
      /line 5: a \/\/ @unroll loop's body may not break/,
    );
    // Without the break it unrolls and compiles.
    const fine = { fileName: "mine.wgsl", code: code.replace("{ break; }", "{ o[i] = 1u; }") };
    assert.ok(await kit(true).compile(fine, "main"));
  },
);

gpuTest(
  "kit.dispatch: a backend's own pass takes its options' role, a harness pass the adapter's",
  async () => {
    const ctx = await gpu();
    const owned: GPUBuffer[] = [];
    const kit = (path: "absorbed" | "expanded") =>
      new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
        dtype: "f32",
        path,
        cache: pipelineCacheOf(ctx),
        timer: null,
        owned,
      });
    const source = {
      fileName: "one.wgsl",
      code: "@group(0) @binding(0) var<storage, read_write> o: array<u32>;\n" +
        "@compute @workgroup_size(1)\nfn main() { o[0] = 1u; }",
    };
    const k = kit("absorbed");
    const pipe = await k.compile(source, "main");
    const buf = k.storage(16, "o");
    k.dispatch("my_copy", pipe, [buf], [1], { construction: true });
    k.dispatch("my_step", pipe, [buf], [1], { core: false });
    k.dispatch("my_core", pipe, [buf], [1]);
    // A harness pass name: the adapter's role, restated or not; contradicted, an error.
    k.dispatch("cache_texture", pipe, [buf], [1]);
    k.dispatch("gemm_scores", pipe, [buf], [1], { core: true });
    assert.deepEqual(k.passes.map((p) => [p.name, p.core, p.construction]), [
      ["my_copy", false, true],
      ["my_step", false, false],
      ["my_core", true, false],
      ["cache_texture", false, true],
      ["gemm_scores", true, false],
    ]);
    assert.throws(
      () => k.dispatch("rope_k", pipe, [buf], [1], { core: true }),
      /pass "rope_k" is the harness's, and on the absorbed path it is construction \(adapter\/pass_roles\.ts: the model caches k_pe rotated.*\), not core; a backend's own pass needs a name of its own/,
    );
    // query_texture: in the core of the absorbed path, q packing (per step) on the expanded
    const e = kit("expanded");
    e.dispatch("query_texture", pipe, [e.storage(16, "o")], [1]);
    k.dispatch("query_texture", pipe, [buf], [1]);
    assert.deepEqual([e.passes[0].core, k.passes.at(-1)!.core], [false, true]);
    for (const b of owned) b.destroy();
  },
);

gpuTest(
  "run: a --backend that runs none of the cases fails; a loaded module no case runs on is named",
  async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-unused-backend-" });
    try {
      const base = ["run", "--backend-module", NAIVE, "--repeats", "0", "--filter"];
      const [none, unselected, expectedOut] = await Promise.all([
        // naive computes the absorbed path: every expanded case is refused
        runCli([
          ...base,
          "preset=tiny;path=expanded;dtype=f32;layout=thd",
          "--backend",
          "naive",
          "--out",
          `${out}/none`,
        ]),
        // no --backend: auto picks only bundled backends, so naive runs nothing
        runCli([...base, "preset=tiny;path=absorbed;dtype=f32;layout=thd", "--out", `${out}/un`]),
        // a case the matrix expects unsupported (shape.not-vec4) was never meant to run
        runCli([
          "run",
          "--matrix",
          "adapter",
          "--filter",
          "preset=configs/hf_latent_not_vec4.json;path=absorbed",
          "--backend",
          "wgsl-absorbed",
          "--repeats",
          "0",
          "--out",
          `${out}/expected`,
        ]),
      ]);
      assert.equal(expectedOut.code, 0, expectedOut.stdout + expectedOut.stderr);
      assert.doesNotMatch(expectedOut.stderr, /ran none|did not run the/);
      // before: "0 pass ... skipped as expected", exit 0
      assert.equal(none.code, 1, none.stdout + none.stderr);
      assert.match(
        none.stderr,
        /error: --backend naive (?:ran none of the \d+ cases|did not run the 1 case) expected to run: .*backend\.path-mismatch/,
      );
      assert.equal(unselected.code, 0, unselected.stdout + unselected.stderr);
      assert.match(
        unselected.stderr,
        /warning: --backend-module examples\/backends\/naive\/mod\.ts registers backend naive, which no case ran on/,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
);

Deno.test("unusedBackends: --backend with a case run on it, or no results, says nothing", () => {
  const meant = { support: "supported" };
  const ran = {
    id: "a",
    status: "pass",
    decision: "supported",
    backend: "naive",
    expect: meant,
  } as unknown as CaseResult;
  assert.deepEqual(
    unusedBackends([ran], { backend: "naive", modules: [{ id: "naive", specifier: "n.ts" }] }),
    { lines: [], backendRanNothing: false },
  );
  assert.equal(unusedBackends([], { backend: "naive", modules: [] }).backendRanNothing, false);
  // refused only for what the device lacks: a coverage gap, said, the run not failed
  const lacking = {
    id: "b",
    status: "pass",
    decision: "unsupported",
    reasons: [{ code: "device.no-subgroups", message: "no subgroups" }],
    expect: meant,
  } as unknown as CaseResult;
  const gap = unusedBackends([lacking], { backend: "wgsl-absorbed-tiled-sg", modules: [] });
  assert.equal(gap.backendRanNothing, false);
  // one case: "did not run the 1 case", not "ran none of the 1 case"
  assert.match(
    gap.lines[0],
    /^warning: --backend wgsl-absorbed-tiled-sg did not run the 1 case expected to run: .*lacks/,
  );
  const two = unusedBackends([lacking, { ...lacking, id: "c" } as CaseResult], {
    backend: "x",
    modules: [],
  });
  assert.match(two.lines[0], /^warning: --backend x ran none of the 2 cases expected to run: /);
  const other = { ...lacking, reasons: [{ code: "backend.path-mismatch", message: "m" }] };
  assert.equal(unusedBackends([other], { backend: "x", modules: [] }).backendRanNothing, true);
  // a device limit is the device's too
  const limit = { ...lacking, reasons: [{ code: "limits.buffer-too-large", message: "m" }] };
  assert.equal(unusedBackends([limit], { backend: "x", modules: [] }).backendRanNothing, false);
  // cases the matrix expected unsupported or invalid (adapter tests) were never meant to run:
  // no line, the run not failed (it exited 1 for them)
  const expectedOut = [
    { ...other, expect: { support: "unsupported", codes: ["shape.not-vec4"] } },
    { ...other, decision: "invalid", expect: { support: "invalid" } },
  ] as unknown as CaseResult[];
  assert.deepEqual(unusedBackends(expectedOut, { backend: "x", modules: [] }), {
    lines: [],
    backendRanNothing: false,
  });
  // a module no case ran on because --backend named another: not auto's doing
  const onOther = { ...ran, backend: "wgsl-absorbed" } as CaseResult;
  assert.deepEqual(
    unusedBackends([onOther], {
      backend: "wgsl-absorbed",
      modules: [{ id: "naive", specifier: "n.ts" }],
    }).lines,
    [
      "warning: --backend-module n.ts registers backend naive, which no case ran on: --backend " +
      "wgsl-absorbed was asked for instead, so select it with --backend naive",
    ],
  );
});

Deno.test("a user launch's error names the backend, its module and the frame that threw", async () => {
  const throwsValue = {
    ...naive,
    id: "fixture-throws-value",
    launch: () => Promise.reject(undefined),
  };
  const throwsError = {
    ...naive,
    id: "fixture-throws-error",
    launch: () => Promise.reject(new RangeError("no such buffer kvcache")),
  };
  // WebGPU rejects with DOMExceptions, whose message is a getter only (assigning it threw a
  // TypeError that hid the original)
  const throwsDom = {
    ...naive,
    id: "fixture-throws-dom",
    launch: () => Promise.reject(new DOMException("shader compile failed", "OperationError")),
  };
  registerBackendModule(validateBackendModule(throwsValue, "v.ts"), "v.ts");
  registerBackendModule(validateBackendModule(throwsError, "e.ts"), "e.ts");
  registerBackendModule(validateBackendModule(throwsDom, "d.ts"), "d.ts");
  const call = (id: string) =>
    launcherOf(id)!(null as unknown as GpuPlan, null as unknown as never, null as unknown as never);
  await assert.rejects(
    () => call("fixture-throws-value"),
    (e: Error) =>
      e.message ===
        "backend fixture-throws-value (module v.ts): launch() threw undefined, not an Error",
  );
  await assert.rejects(() => call("fixture-throws-dom"), (e: Error) => {
    assert.ok(e instanceof DOMException);
    assert.equal(e.name, "OperationError");
    assert.match(
      e.message,
      /^backend fixture-throws-dom \(module d\.ts\): launch\(\) threw: shader compile failed/,
    );
    return true;
  });
  await assert.rejects(() => call("fixture-throws-error"), (e: Error) => {
    // the class kept: callers tell errors apart by it
    assert.ok(e instanceof RangeError);
    assert.match(
      e.message,
      /^backend fixture-throws-error \(module e\.ts\): launch\(\) threw: no such buffer kvcache \(at .*backend_contract_test\.ts:\d+:\d+\)$/,
    );
    return true;
  });
});

Deno.test("a user launch is given a frozen copy of its plan: a change throws in its line, the plan stays", async () => {
  // a launch that sorted plan.layout.seqs after encoding its passes right reordered the
  // layout the harness reads the outputs back by: every varlen case failed parity
  const sorts = {
    ...naive,
    id: "fixture-sorts-plan",
    launch: (p: GpuPlan) => {
      (p.layout.seqs as unknown as { kLen: number }[]).sort((a, b) => b.kLen - a.kLen);
      return Promise.resolve();
    },
  };
  let seen: GpuPlan | null = null;
  const reads = {
    ...naive,
    id: "fixture-reads-plan",
    launch: (p: GpuPlan) => {
      seen = p;
      return Promise.resolve();
    },
  };
  registerBackendModule(validateBackendModule(sorts, "s.ts"), "s.ts");
  registerBackendModule(validateBackendModule(reads, "r.ts"), "r.ts");
  const plan = { layout: { seqs: [{ kLen: 5 }, { kLen: 9 }] } } as unknown as GpuPlan;
  const call = (id: string) => launcherOf(id)!(plan, null as unknown as never, null as never);
  await assert.rejects(() => call("fixture-sorts-plan"), (e: Error) => {
    assert.ok(e instanceof TypeError);
    assert.match(
      e.message,
      /^backend fixture-sorts-plan \(module s\.ts\): launch\(\) threw: .*read.only.* \(the plan is read-only: launch\(\) must not change it; copy what it sorts or edits\) \(at .*backend_contract_test\.ts:\d+:\d+\)$/,
    );
    return true;
  });
  assert.deepEqual(plan.layout.seqs.map((x) => x.kLen), [5, 9], "the harness's plan unchanged");
  await call("fixture-reads-plan");
  assert.deepEqual(seen, plan, "a launch that reads gets the plan's data");
});

gpuTest(
  "run --backend of a module whose launch() calls Deno.exit(0): the case's error, the reports written, exit 1 (it was exit 0 after one case, no reports)",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-launch-exits-" });
    try {
      const r = await runCli([
        "run",
        "--backend-module",
        "tests/fixtures/backends/launch_exits.ts",
        "--backend",
        "naive-launch-exits",
        "--filter",
        "preset=tiny;dtype=f32;path=absorbed;b=2;sq=1;layout=bshd;causal=1",
        "--repeats",
        "0",
        "--progress",
        "cases",
        "--out",
        dir,
      ], { DENO_WEBGPU_BACKEND: currentBackend() });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stdout + r.stderr,
        /error .*backend naive-launch-exits \(module tests\/fixtures\/backends\/launch_exits\.ts\): launch\(\) threw: Deno\.exit\(0\) was called: a backend must not end the process .*\(at .*launch_exits\.ts:\d+:\d+\)/,
      );
      const run = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
      assert.equal(run.state, "finished");
      await Deno.stat(`${dir}/report.json`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

gpuTest(
  "layer --backend of a module whose launch() throws, or never settles: one error line, exit 1 (an internal error with a stack; Deno's 'Top-level await promise never resolved')",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-layer-launch-throws-" });
    try {
      await writeTinyInput(dir);
      const r = await runTinyLayer(dir, [
        "--backend-module",
        "tests/fixtures/backends/launch_throws.ts",
        "--backend",
        "naive-launch-throws",
      ], { DENO_WEBGPU_BACKEND: currentBackend() });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /^error: backend naive-launch-throws \(module tests\/fixtures\/backends\/launch_throws\.ts\): launch\(\) threw: launch_throws: no such buffer kvcache \(at .*launch_throws\.ts:\d+:\d+\)$/m,
      );
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
      await assert.rejects(() => Deno.stat(`${dir}/y.safetensors`), Deno.errors.NotFound);
      // a bind group of one buffer for two bindings: it was "internal error: GpuScopeError:
      // runAttention naive-bad-binding: ..." and a stack, then WebGPU's refusal naming no pass;
      // the kit names the pass, the count given and the entry point's bindings, at the
      // module's line that dispatched it (it named the kit's line in kernels/launch.ts)
      const binding = await runTinyLayer(dir, [
        "--backend-module",
        "tests/fixtures/backends/launch_bad_binding.ts",
        "--backend",
        "naive-bad-binding",
      ], { DENO_WEBGPU_BACKEND: currentBackend() });
      assert.equal(binding.code, 1, binding.stdout + binding.stderr);
      assert.match(
        binding.stderr,
        /^error: backend naive-bad-binding \(module tests\/fixtures\/backends\/launch_bad_binding\.ts\): launch\(\) threw: pass "bad_binding": 1 binding given, but bad_binding\.wgsl entry point main uses 2 in group 0: 0 \(o\), 1 \(p\); give them in binding order \(at .*launch_bad_binding\.ts:\d+:\d+\)$/m,
      );
      assert.doesNotMatch(binding.stderr, /internal error|\n\s+at /);
      await assert.rejects(() => Deno.stat(`${dir}/y.safetensors`), Deno.errors.NotFound);
      // a launch() that never settles: said so, exit 1 (it was Deno's "Top-level await
      // promise never resolved", pointing into main.ts)
      const hangs = await runTinyLayer(dir, [
        "--backend-module",
        "tests/fixtures/backends/launch_hangs.ts",
        "--backend",
        "naive-launch-hangs",
      ], { DENO_WEBGPU_BACKEND: currentBackend() });
      assert.equal(hangs.code, 1, hangs.stdout + hangs.stderr);
      assert.equal(hangs.stderr.trim(), NOTHING_LEFT_TO_WAIT_FOR);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("CLI: a module by URL under `deno task harness` (no import permission) says what to do", async () => {
  const r = await runCli(["explain", "tiny", "--backend-module", "http://127.0.0.1:9/m.ts"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  // before: Deno's "run again with the --allow-import flag", which a task user cannot add
  assert.match(
    r.stderr,
    /could not be loaded: loading a module by URL needs Deno's import and net permissions beyond those `deno task harness` grants: download the module/,
  );
});

/** A self-contained module (a remote module cannot import local files) of this description. */
function servedModule(description: string): string {
  return 'export const contractVersion = 1;\nexport const id = "fixture-url";\n' +
    `export const description = "${description}";\nexport const path = "absorbed";\n` +
    "export function check() {\n" +
    '  return { path: "absorbed", reasons: [{ code: "fixture.no", message: "no" }] };\n' +
    "}\n" +
    'export function launch() { throw new Error("never"); }\n';
}

/**
 * Serve `body()` on the loopback and run a driver that loads it as a backend module with
 * `flags` (the served URL's port filled in), printing the description and the hashes.
 */
async function loadServed(
  body: () => string,
  flags: (port: number) => string[],
  port = 0,
  options: { answerAfterMs?: number; loadTimeoutMs?: number } = {},
): Promise<{ text: string; code: number; port: number }> {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    async () => {
      if (options.answerAfterMs) {
        await new Promise((r) => setTimeout(r, options.answerAfterMs));
      }
      return new Response(body(), { headers: { "content-type": "application/typescript" } });
    },
  );
  const dir = await Deno.makeTempDir({ prefix: "mla-module-url-" });
  try {
    const root = new URL("../", import.meta.url).pathname;
    const url = `http://127.0.0.1:${server.addr.port}/m.ts`;
    await Deno.writeTextFile(
      `${dir}/driver.ts`,
      `import { loadBackendModule } from "${root}kernels/backend_module.ts";\n` +
        `try { const m = await loadBackendModule("${url}", ${
          JSON.stringify({ loadTimeoutMs: options.loadTimeoutMs })
        });\n` +
        "  console.log(m.module.description, JSON.stringify(m.hashes)); }\n" +
        "catch (e) { console.log((e as Error).message); }\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--config",
        `${root}deno.json`,
        "--allow-read",
        ...flags(server.addr.port),
        "--no-lock", // the served module's hash would be written to the project's deno.lock
        `${dir}/driver.ts`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return { text, code: out.code, port: server.addr.port };
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a module by URL that may be imported but not fetched for its hash says what to do", async () => {
  // import permission for the server, no net permission: the fetch that hashes the module
  // into the fingerprint is refused
  const r = await loadServed(
    () => servedModule("a"),
    (port) => [`--allow-import=127.0.0.1:${port}`],
  );
  assert.equal(r.code, 0, r.text);
  assert.match(
    r.text,
    /\(module\): "http:\/\/127\.0\.0\.1:\d+\/m\.ts" loading a module by URL needs Deno's import and net permissions .*\(it may be imported, but fetching it to hash it into the fingerprint was refused: .*net access/,
  );
});

Deno.test("a module by URL changed on its server: what runs is what is hashed (Deno's cache kept the first copy)", async () => {
  let description = "first copy";
  const flags = (port: number) => [
    `--allow-import=127.0.0.1:${port}`,
    `--allow-net=127.0.0.1:${port}`,
  ];
  const first = await loadServed(() => servedModule(description), flags);
  assert.equal(first.code, 0, first.text);
  assert.match(first.text, /^first copy \{"fixture-url:m\.ts":"[0-9a-f]{16}"\}/);
  // the same URL (the same port), the module changed: before, Deno ran its cached first copy
  // while the fingerprint hashed the second
  description = "second copy";
  const second = await loadServed(() => servedModule(description), flags, first.port);
  assert.equal(second.code, 0, second.text);
  assert.match(second.text, /^second copy \{"fixture-url:m\.ts":"([0-9a-f]{16})"\}/);
  const hash = (t: string) => /"fixture-url:m\.ts":"([0-9a-f]{16})"/.exec(t)?.[1];
  assert.equal(
    hash(second.text),
    await sha256Hex16(new TextEncoder().encode(servedModule("second copy"))),
  );
  assert.notEqual(hash(first.text), hash(second.text));
});

Deno.test("a module by URL whose server does not answer is refused within the load's time limit (it waited forever)", async () => {
  const r = await loadServed(
    () => servedModule("late"),
    (port) => [`--allow-import=127.0.0.1:${port}`, `--allow-net=127.0.0.1:${port}`],
    0,
    { answerAfterMs: 3000, loadTimeoutMs: 300 },
  );
  assert.equal(r.code, 0, r.text);
  assert.match(
    r.text,
    /\(module\): "http:\/\/127\.0\.0\.1:\d+\/m\.ts" could not be fetched: no answer within 0\.3 s/,
  );
});

Deno.test("an id registered twice names where the first came from", () => {
  registerBackendModule(validateBackendModule({ ...naive, id: "fixture-twice" }, "a.ts"), "a.ts");
  assert.throws(
    () =>
      registerBackendModule(
        validateBackendModule({ ...naive, id: "fixture-twice" }, "b.ts"),
        "b.ts",
      ),
    /b\.ts: invalid backend\n\s+id: "fixture-twice" is already registered \(.*; loaded from a\.ts\); choose another id/,
  );
  assert.throws(
    () =>
      registerBackendModule(
        validateBackendModule({ ...naive, id: "wgsl-absorbed" }, "c.ts"),
        "c.ts",
      ),
    /bundled with the harness|must not name/,
  );
});

Deno.test("a module's local imports are hashed into the fingerprint (a helper file's change was missed by --resume)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-module-imports-" });
  try {
    const root = new URL("../", import.meta.url).pathname;
    await Deno.mkdir(`${dir}/lib`);
    await Deno.writeTextFile(
      `${dir}/mod.ts`,
      `export { check, contractVersion, path } from "${root}examples/backends/naive/mod.ts";\n` +
        'import { launchVia } from "./lib/launch.ts";\n' +
        'export const id = "fixture-imports";\n' +
        'export const description = "fixture";\n' +
        "export const launch = launchVia;\n",
    );
    // Written without spaces (as a minifier writes it), and a dynamic import of a literal:
    // both were missed by the first reading of imports.
    const helper = 'import{twice}from"../util.ts";\n' +
      "export async function launchVia(): Promise<void> {\n" +
      '  const { half } = await import("./half.ts");\n' +
      "  return Promise.resolve(void twice(half(2)));\n" +
      "}\n" +
      'const notAnImport = { import: "./not_imported.ts" };\n' +
      "void notAnImport;\n";
    await Deno.writeTextFile(`${dir}/lib/launch.ts`, helper);
    await Deno.writeTextFile(`${dir}/lib/half.ts`, "export const half = (x: number) => x / 2;\n");
    await Deno.writeTextFile(`${dir}/lib/not_imported.ts`, "export {};\n");
    await Deno.writeTextFile(`${dir}/util.ts`, "export const twice = (x: number) => 2 * x;\n");
    const m = await loadBackendModule(`${dir}/mod.ts`);
    const keys = Object.keys(m.hashes).sort();
    assert.deepEqual(keys, [
      "fixture-imports:lib/half.ts",
      "fixture-imports:lib/launch.ts",
      "fixture-imports:mod.ts",
      "fixture-imports:util.ts",
    ]);
    assert.equal(
      m.hashes["fixture-imports:lib/launch.ts"],
      await sha256Hex16(new TextEncoder().encode(helper)),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a module whose top-level await never settles is refused naming it (Deno ended the process)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-module-tla-" });
  try {
    const root = new URL("../", import.meta.url).pathname;
    await Deno.writeTextFile(
      `${dir}/tla.ts`,
      "await new Promise(() => {});\nexport const id = 1;\n",
    );
    // In a process of its own, which exits itself as main.ts does: the import stays pending.
    await Deno.writeTextFile(
      `${dir}/driver.ts`,
      `import { loadBackendModule } from "${root}kernels/backend_module.ts";\n` +
        "try {\n" +
        `  await loadBackendModule("${dir}/tla.ts", { loadTimeoutMs: 300 });\n` +
        "} catch (e) {\n" +
        "  console.log((e as Error).message);\n" +
        "}\n" +
        "Deno.exit(0);\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-check",
        "--config",
        `${root}deno.json`,
        "--allow-read",
        `${dir}/driver.ts`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(
      text,
      /tla\.ts: not a backend module\n\s+\(module\): .* did not finish loading within 0\.3 s: a top-level await in it .* never settled/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

gpuTest(
  "kit.rowsTexture refuses rows of another dtype than its texture holds, naming both",
  async () => {
    const ctx = await gpu();
    const kit = new LaunchKit(ctx.device, ctx.device.createCommandEncoder(), {
      dtype: "f16",
      path: "absorbed",
      cache: pipelineCacheOf(ctx),
      timer: null,
      owned: [],
    });
    const source = kit.storage(256, "rows");
    const shape = (format: "rgba32float" | "rgba16float" | "rgba32uint") => ({
      format,
      rowsPerTexelRow: 1,
      width: 4,
      height: 2,
    });
    // f32 rows (an f16 plan's f32 query) into the packed halves of the f16 cache's shape: they
    // would be rounded to f16
    await assert.rejects(
      () =>
        kit.rowsTexture("my_query", source, shape("rgba32uint"), {
          rows: 2,
          rowVec4: 8,
          dtype: "f32",
        }),
      /kit\.rowsTexture\("my_query"\): a rgba32uint texture holds f16 rows, and these are f32 \(options\.dtype\): give an rgba32float shape/,
    );
    // the plan's f16 rows into an f32 texture
    await assert.rejects(
      () => kit.rowsTexture("my_rows", source, shape("rgba32float"), { rows: 2, rowVec4: 4 }),
      /a rgba32float texture holds f32 rows, and these are f16 \(the plan's dtype\)/,
    );
  },
);
