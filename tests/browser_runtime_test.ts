// test_runner: early (among the suite's longest modules: started first, tools/test_runner.ts)
// The Chromium runtime end to end, as a user runs it (the harness task's permissions):
// - `run --runtime chromium` checks cases against the float64 reference in the page's
//   WebGPU, records the browser in the fingerprint, and reports f16 as not covered with the
//   adapter's reason (SwiftShader has no shader-f16);
// - `compare-runtimes --same-driver` runs preset=tiny;dtype=f32 in both runtimes on one
//   driver (Chromium's SwiftShader) and reports the ULP distances (0 here: measured);
// - without a browser, exit 3 with the install command (and these tests are ignored with
//   that message, the rest of the suite runs).
import assert from "node:assert/strict";
import { selectCases } from "../runner/run_matrix.ts";
import { browserTestName, chromiumMissing, runHarness, spawnHarness } from "./browser_helpers.ts";
import { loadKernel } from "../kernels/source.ts";
import { readUntilThen } from "./helpers_cli.ts";

const ignore = chromiumMissing() !== null;

Deno.test("no Chromium: --runtime chromium and compare-runtimes exit 3 with the install command", async () => {
  const r = await runHarness([
    "run",
    "--runtime",
    "chromium",
    "--chromium",
    "/nonexistent/chromium",
    "--filter",
    "preset=tiny;dtype=f32",
    "--out",
    await Deno.makeTempDir(),
  ]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /--chromium \/nonexistent\/chromium: no such file/);
  assert.match(r.stderr, /apt-get install -y chromium-headless-shell/);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/); // one message, no stack trace
  const c = await runHarness(["compare-runtimes", "--out", await Deno.makeTempDir()], {
    CHROME_PATH: "/nonexistent/chrome",
  });
  assert.equal(c.code, 3, c.stderr);
  assert.match(c.stderr, /CHROME_PATH=\/nonexistent\/chrome: no such file; install it with/);
  // layer too; and a remote backend module cannot go with it (bad input, before any browser).
  const dir = await Deno.makeTempDir();
  const layer = ["layer", "--runtime", "chromium", "--config", "tiny", "--input", "x.safetensors"];
  const l = await runHarness([...layer, "--out", `${dir}/y.safetensors`], {
    CHROME_PATH: "/nonexistent/chrome",
  });
  assert.equal(l.code, 3, l.stderr);
  assert.match(l.stderr, /install it with/);
  const m = await runHarness([
    ...layer,
    "--out",
    `${dir}/y.safetensors`,
    "--backend-module",
    "https://example.com/m.ts",
  ]);
  assert.equal(m.code, 2, m.stderr);
  assert.match(m.stderr, /--backend-module https:\/\/example\.com\/m\.ts: .* must be a local file/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: browserTestName(
    "run --runtime chromium: f32 against the float64 reference, f16 not covered",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-chromium-run-" });
    try {
      const r = await runHarness([
        "run",
        "--runtime",
        "chromium",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;layout=bshd;causal=1;sq=4",
        "--repeats",
        "1",
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^runtime: chromium \(HeadlessChrome\/[\d.]+, /m);
      const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`));
      assert.equal(report.fingerprint.browser.name, "chromium");
      assert.match(report.fingerprint.browser.version, /Chrome\/\d+/);
      const results = report.results as {
        id: string;
        status: string;
        decision: string;
        message: string;
        rowsChecked?: number;
        backend?: string;
        timing?: { source: string; scope?: string; outsideCoreMs?: number };
      }[];
      const f32 = results.filter((x) => x.id.includes("dtype=f32"));
      const f16 = results.filter((x) => x.id.includes("dtype=f16"));
      assert.equal(f32.length, 2); // absorbed, expanded
      for (const x of f32) {
        assert.equal(x.status, "pass", x.message);
        assert.equal(x.decision, "supported");
        assert.ok((x.rowsChecked ?? 0) > 0);
        // The page times like `run` in Deno (kernels/measure.ts): the expanded path its
        // attention core, with the K/V expansion once apart; the absorbed path every pass
        // but cache construction (k_pe's RoPE on every backend), timed once apart.
        const expanded = x.id.includes("path=expanded");
        assert.equal(x.timing?.scope, expanded ? "core" : "all", x.id);
        const stamped = x.timing?.source === "timestamp-query";
        assert.equal(typeof x.timing?.outsideCoreMs, stamped ? "number" : "undefined", x.id);
      }
      assert.equal(f16.length, 2);
      const hasF16 = report.fingerprint.adapter.features.includes("shader-f16");
      // the not-covered hint names another runtime, not a driver for this process
      if (!hasF16) assert.match(r.stdout, /to cover them, run them with --runtime deno/);
      for (const x of f16) {
        if (hasF16) continue; // a Chromium with shader-f16 runs them
        assert.equal(x.decision, "unsupported");
        assert.match(
          x.message,
          /dtype\.f16-unavailable( \([^)]*\))?: dtype f16 needs the WebGPU feature/,
        );
      }
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName(
    "compare-runtimes stopped by SIGINT: exit 130, both files say so and name the cases not compared",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-compare-runtimes-int-" });
    // an earlier comparison's files in --out: gone once this one compares (a comparison
    // killed halfway left them standing, read as its own, complete)
    const stale = ["compare-runtimes.json", "compare-runtimes.md"];
    for (const f of stale) await Deno.writeTextFile(`${out}/${f}`, "an earlier comparison\n");
    try {
      const child = spawnHarness([
        "compare-runtimes",
        "--filter",
        "preset=tiny;dtype=f32",
        "--out",
        out,
      ]);
      // SIGINT once the first case has printed its line
      const text = await readUntilThen(child.stdout, /^\[1\/\d+\] /m, async () => {
        for (const f of stale) {
          assert.equal(await Deno.stat(`${out}/${f}`).then(() => true, () => false), false, f);
        }
        child.kill("SIGINT");
      });
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.code, 130, text);
      const report = JSON.parse(await Deno.readTextFile(`${out}/compare-runtimes.json`));
      const { all } = await selectCases({ matrix: "smoke", filter: "preset=tiny;dtype=f32" });
      assert.equal(report.interrupted.signal, "SIGINT");
      // the kernel files compared, as run.json records them (the file named none)
      assert.match(report.kernelHashes["absorbed.wgsl"], /^[0-9a-f]{16}$/);
      assert.equal(report.interrupted.selected, all.length);
      assert.equal(report.interrupted.notRun.length, all.length - report.totals.cases);
      assert.ok(report.interrupted.notRun.length > 0, "stopped before the end");
      assert.match(
        await Deno.readTextFile(`${out}/compare-runtimes.md`),
        /\*\*Interrupted by SIGINT: \d+ of \d+ selected cases? ran; \d+ not run\*\*/,
      );
      assert.match(text, /^interrupted by SIGINT: \d+ of \d+ selected cases? ran; /m);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName(
    "compare-runtimes killed halfway (SIGKILL): compare-runtimes.jsonl keeps the cases compared",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-compare-runtimes-kill-" });
    try {
      const child = spawnHarness([
        "compare-runtimes",
        "--filter",
        "preset=tiny;dtype=f32",
        "--out",
        out,
      ]);
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/^\[2\/\d+\] /m.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      await child.stderr.cancel();
      // it left nothing: both files are written at the end
      const lines = (await Deno.readTextFile(`${out}/compare-runtimes.jsonl`)).trim().split("\n");
      // case 1 written while case 2 ran (case 2's own line may not be, as the kill came)
      assert.ok(lines.length >= 1 && lines[0] !== "", lines.join("\n"));
      const first = JSON.parse(lines[0]);
      assert.ok(text.includes(first.id), `${first.id} in\n${text}`);
      assert.ok(first.deno.status !== undefined && first.chromium.status !== undefined);
      await assert.rejects(Deno.stat(`${out}/compare-runtimes.json`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName(
    "compare-runtimes --same-driver: tiny f32 in Deno and Chromium on SwiftShader",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-compare-runtimes-" });
    try {
      const r = await runHarness([
        "compare-runtimes",
        "--same-driver",
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;dtype=f32",
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^runtime: deno \(.*SwiftShader Device.*VK_ICD_FILENAMES=/m);
      // the harness set DENO_WEBGPU_BACKEND, not the user ("DENO_WEBGPU_BACKEND=vulkan was set")
      assert.match(
        r.stdout,
        /; backend: vulkan \(DENO_WEBGPU_BACKEND=vulkan set by the harness for --same-driver\);/,
      );
      assert.doesNotMatch(r.stdout, /was set/);
      const report = JSON.parse(await Deno.readTextFile(`${out}/compare-runtimes.json`));
      assert.equal(report.sameDriver, true);
      // every tiny f32 case of the smoke matrix (47 since session 44), each compared
      const { all } = await selectCases({ matrix: "smoke", filter: "preset=tiny;dtype=f32" });
      assert.ok(all.length >= 44, `${all.length} cases`);
      assert.equal(report.totals.cases, all.length);
      assert.equal(report.totals.compared, all.length);
      assert.equal(report.totals.findings, 0);
      // Measured with Chromium 156 and Deno 2.9.6: naga and Tint give bit-identical results
      // on SwiftShader for every tiny f32 case. A compiler change that alters rounding shows
      // here as a nonzero distance, with its index in compare-runtimes.md.
      assert.equal(report.totals.maxUlpOut, 0, Deno.readTextFileSync(`${out}/compare-runtimes.md`));
      assert.equal(report.totals.maxUlpLse, 0);
      assert.match(
        await Deno.readTextFile(`${out}/compare-runtimes.md`),
        /\| out max ULP \(index\) \|/,
      );
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName(
    "compare-runtimes --backend-module --backend: a user backend in both runtimes, named in both files; one of the other path fails",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-compare-runtimes-module-" });
    try {
      const args = (filter: string, out: string) => [
        "compare-runtimes",
        "--backend-module",
        "examples/backends/naive/mod.ts",
        "--backend",
        "naive",
        "--filter",
        filter,
        "--out",
        `${dir}/${out}`,
      ];
      // one tiny case (before: exit 2, "loads no backend module")
      const ok = await runHarness(
        args("preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=1;causal=0", "ok"),
      );
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/ok/compare-runtimes.json`));
      assert.equal(report.backend, "naive");
      assert.deepEqual(report.backendModules, ["examples/backends/naive/mod.ts"]);
      // where it is, as run.json records it (as typed it named a file only from here)
      assert.deepEqual(report.backendModulePaths, [
        `${Deno.cwd()}/examples/backends/naive/mod.ts`,
      ]);
      assert.deepEqual(report.barrierFindings, []);
      assert.equal(report.totals.cases, 1);
      assert.equal(report.totals.compared, 1);
      assert.equal(report.cases[0].deno.backend, "naive");
      assert.equal(report.cases[0].chromium.backend, "naive");
      assert.match(
        await Deno.readTextFile(`${dir}/ok/compare-runtimes.md`),
        /^- backend modules: examples\/backends\/naive\/mod\.ts \(\/\S+\/examples\/backends\/naive\/mod\.ts\) \(--backend-module\)$/m,
      );
      // naive computes the absorbed path: on an expanded case it ran nothing, exit 1 as run's
      const none = await runHarness(
        args("preset=tiny;dtype=f32;path=expanded;layout=bshd;sq=4;causal=1", "none"),
      );
      assert.equal(none.code, 1, none.stdout + none.stderr);
      assert.match(
        none.stderr,
        /^error: --backend naive did not run the 1 case expected to run: .*backend\.path-mismatch.*so the comparison fails\. /m,
      );
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName("compile --runtime chromium: Tint's diagnostics as file:line:col, exit 1"),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-chromium-compile-" });
    try {
      const file = `${dir}/bad.wgsl`;
      await Deno.writeTextFile(
        file,
        "@compute @workgroup_size(1)\nfn main() {\n  let x: u32 = 1.5;\n}\n",
      );
      const r = await runHarness(["compile", "--runtime", "chromium", "--dtype", "f32", file]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^error .*bad\.wgsl \(f32\)$/m);
      // the line and column of the offending declaration, and the source line
      assert.match(r.stdout, /bad\.wgsl:3:\d+: error: /);
      assert.match(r.stdout, /3 \| {3}let x: u32 = 1\.5;/);
      const ok = await runHarness(["compile", "--runtime", "chromium", "--dtype", "f32"]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^ok {4}absorbed\.wgsl \(f32\)$/m);
      // SwiftShader has subgroups: the tiled kernel's subgroup variant is compiled too.
      assert.match(ok.stdout, /^ok {4}absorbed_tiled\.wgsl \(f32, subgroups\)$/m);
      assert.doesNotMatch(ok.stdout, /^error/m);
      // The tiled kernels as a gpu-class plan compiles them, loops unrolled in the source
      // (kernels/unroll.ts): Tint reads the unrolled form too (V2-Lite widths, f32; the
      // subgroup line taken out, as the unrolled files are the plain variant).
      const unrolled: [string, Record<string, number>][] = [
        ["absorbed_tiled.wgsl", {
          WG: 128,
          HT: 16,
          QT: 1,
          KT: 8,
          RG: 1,
          KEY_VEC4: 144,
          VAL_VEC4: 128,
        }],
        ["expanded_fa2.wgsl", { QK_VEC4: 48, V_VEC4: 32, BQ: 64, BK: 32, WG: 128 }],
      ];
      const files: string[] = [];
      for (const [name, params] of unrolled) {
        const k = await loadKernel(name, { dtype: "f32", params, unroll: true });
        assert.doesNotMatch(k.code, /^\s*for \(.*\/\/ @unroll/m, `${name}: unrolled`);
        const path = `${dir}/unrolled_${name}`;
        await Deno.writeTextFile(path, k.code.replace("// @enable-subgroups", ""));
        files.push(path);
      }
      const u = await runHarness(["compile", "--runtime", "chromium", "--dtype", "f32", ...files]);
      assert.equal(u.code, 0, u.stdout + u.stderr);
      assert.match(u.stdout, /^ok {4}.*unrolled_absorbed_tiled\.wgsl \(f32\)$/m);
      assert.match(u.stdout, /^ok {4}.*unrolled_expanded_fa2\.wgsl \(f32\)$/m);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName("run --runtime chromium --plant-fault: a source fault reaches the page"),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-chromium-fault-" });
    try {
      const r = await runHarness([
        "run",
        "--runtime",
        "chromium",
        "--plant-fault",
        "kpe-left-out",
        "--filter",
        "preset=tiny;dtype=f32;layout=bshd;causal=1;sq=4;path=absorbed",
        "--repeats",
        "0",
        "--out",
        out,
      ]);
      // the page compiled absorbed.wgsl with k_pe left out: the float64 reference catches it
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^\[1\/1\] fail preset=tiny;path=absorbed;dtype=f32/m);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName("bench --runtime chromium: ceilings and a case measured in the page"),
  ignore,
  fn: async () => {
    const r = await runHarness([
      "bench",
      "--runtime",
      "chromium",
      "--matrix",
      "tiny",
      "--filter",
      "path=absorbed",
      "--reps",
      "2",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.match(report.machine.adapter, / in HeadlessChrome\/[\d.]+$/);
    assert.ok(report.ceilings.copyGBps > 0, JSON.stringify(report.ceilings));
    assert.equal(report.records.length, 1);
    const rec = report.records[0];
    assert.equal(rec.status, "ok", rec.reason);
    assert.equal(rec.samples.length, 2);
    assert.ok(rec.ms > 0);
  },
});

Deno.test({
  name: browserTestName(
    "layer --runtime chromium: the layer in the page passes parity; a planted layer fault fails it",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-layer-chromium-" });
    const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;
    try {
      const base = ["layer", "--runtime", "chromium", "--config", "tiny"];
      const input = ["--input", `${F}tiny_input_bshd.safetensors`];
      const ok = await runHarness([
        ...base,
        "--weights",
        `${F}tiny_layer3.safetensors`,
        ...input,
        "--out",
        `${dir}/ok.safetensors`,
      ]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout, /^runtime: chromium \(HeadlessChrome\//m);
      assert.match(ok.stdout, /parity vs float64 reference \(10 of 10 rows\): PASS/);
      assert.ok((await Deno.stat(`${dir}/ok.safetensors`)).size > 0);
      // The fault is applied in the page, by id: the check must catch it.
      const bad = await runHarness([
        ...base,
        ...input,
        "--out",
        `${dir}/bad.safetensors`,
        "--plant-fault",
        "kv-split-wrong-half",
      ]);
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /planted fault kv-split-wrong-half/);
      assert.match(bad.stdout, /: FAIL\n {2}out: .*FAILED/);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName(
    "run --runtime chromium --backend-module: a user backend runs in the page, and a broken copy fails",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-user-backend-chromium-" });
    try {
      const args = (module: string, id: string, out: string) => [
        "run",
        "--runtime",
        "chromium",
        "--backend-module",
        module,
        "--backend",
        id,
        "--matrix",
        "smoke",
        "--filter",
        "preset=tiny;dtype=f32;path=absorbed",
        "--repeats",
        "0",
        "--out",
        `${dir}/${out}`,
      ];
      const ok = await runHarness(args("examples/backends/naive/mod.ts", "naive", "ok"));
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const lines = (await Deno.readTextFile(`${dir}/ok/results.jsonl`)).trim().split("\n")
        .map((l) => JSON.parse(l));
      const ran = lines.filter((r) => r.backend === "naive" && r.decision === "supported");
      assert.ok(ran.length >= 10, `naive ran ${ran.length} cases`);
      assert.ok(ran.every((r) => r.status === "pass"), JSON.stringify(ran.map((r) => r.status)));
      // A broken copy next to its WGSL (the page serves a module's listed files beside it):
      // the softmax scale 1.5x too large must fail against the float64 reference in the page.
      const src = await Deno.readTextFile("examples/backends/naive/mod.ts");
      const broken = src.replace('export const id = "naive";', 'export const id = "naive-broken";')
        .replace(".f32(a.softmaxScale)", ".f32(a.softmaxScale * 1.5)");
      assert.notEqual(broken, src);
      await Deno.writeTextFile(`${dir}/mod.ts`, broken);
      await Deno.copyFile("examples/backends/naive/naive.wgsl", `${dir}/naive.wgsl`);
      const bad = await runHarness(args(`${dir}/mod.ts`, "naive-broken", "bad"));
      assert.equal(bad.code, 1, bad.stdout + bad.stderr);
      assert.match(bad.stdout, /\] fail preset=tiny;path=absorbed/);
      // A copy that does not list its WGSL in `files`: the page's server does not serve it,
      // and says so (before: the 404 page was compiled as the kernel, "KEY_VEC4 is not
      // declared with // @param").
      const unlisted = src.replace('export const id = "naive";', 'export const id = "naive-nf";')
        .replace('export const files = ["naive.wgsl"];', "");
      assert.notEqual(unlisted, src.replace('"naive";', '"naive-nf";'));
      await Deno.mkdir(`${dir}/nf`);
      await Deno.writeTextFile(`${dir}/nf/mod.ts`, unlisted);
      await Deno.copyFile("examples/backends/naive/naive.wgsl", `${dir}/nf/naive.wgsl`);
      const nf = await runHarness([
        ...args(`${dir}/nf/mod.ts`, "naive-nf", "nf").slice(0, -5),
        "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=1",
        "--repeats",
        "0",
        "--out",
        `${dir}/nf-out`,
      ]);
      assert.equal(nf.code, 1, nf.stdout + nf.stderr);
      assert.match(
        nf.stderr,
        /chromium runtime: mla-harness page server: \/\S*naive\.wgsl is not served; a backend module's files .* must be listed in its `files` export/,
      );
      assert.match(nf.stdout, /error .*fetch .*naive\.wgsl: 404 mla-harness page server/);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName(
    "devices --runtime chromium --measure: ceilings and saturation point measured in the page",
  ),
  ignore,
  fn: async () => {
    const r = await runHarness(["devices", "--runtime", "chromium", "--measure", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.match(String(j.runtime?.version), /HeadlessChrome\/[\d.]+/);
    for (const k of ["copyGBps", "readGBps", "textureReadGBps", "fmaGflops"]) {
      assert.ok(j.ceilings[k] > 0, `${k}: ${JSON.stringify(j.ceilings)}`);
    }
    assert.equal(j.ceilings.fmaF16Gflops, null, "SwiftShader has no shader-f16");
    const s = j.saturation;
    assert.equal(s.invocationsPerWorkgroup, 256);
    assert.equal(s.sweep[0].workgroups, 1);
    // A count or null, nothing more: SwiftShader's pool of CPU threads is its own (one run
    // on this 2-CPU machine measured 3: three workgroups took 1.46x one).
    assert.ok(
      s.computeUnits === null || (Number.isInteger(s.computeUnits) && s.computeUnits >= 1),
      JSON.stringify(s),
    );
    // The text form without --measure (its measured lines are cli/devices.ts measuredText,
    // shared with the deno runtime and checked in tests/cli_devices_text_test.ts): one
    // measurement in the page is enough here.
    const text = await runHarness(["devices", "--runtime", "chromium"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /runtime: chromium \(HeadlessChrome\/[\d.]+, Dawn backend /);
  },
});

Deno.test({
  name: browserTestName(
    "run --runtime chromium: a case past --case-timeout is its error, browser replaced",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-chromium-timeout-" });
    try {
      // 50 ms is less than any case takes: each one times out; the browser is dropped and a
      // fresh one started after each, and three in a row end the run (exit 3, as for Deno)
      const r = await runHarness([
        "run",
        "--runtime",
        "chromium",
        "--case-timeout",
        "0.05",
        "--filter",
        "preset=tiny;dtype=f32;layout=bshd",
        "--out",
        out,
      ]);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const lines = r.stdout.split("\n").filter((l) => /^\[\d+\/\d+\] /.test(l));
      assert.equal(lines.length, 3, r.stdout);
      for (const l of lines) assert.match(l, / error .*timed out after 0\.05 s \(--case-timeout\)/);
      assert.match(r.stderr, /timed out 3 times in a row/);
      const results = (await Deno.readTextFile(`${out}/results.jsonl`)).trim().split("\n");
      assert.equal(results.length, 3);
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});
