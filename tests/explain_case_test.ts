// `explain --case <id>`: a matrix case explained as `run` resolves it. Its plan is the one
// `run` records for the case (the same digest), for cases whose request the shape flags
// cannot give (paged caches, varlen, forced splits, a head count, device profiles).
import assert from "node:assert/strict";
import { hasAdapter, probeCaps } from "../gpu/device.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { explainMatrixCase } from "../runner/explain_case.ts";
import { selectCases } from "../runner/run_matrix.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";
import { sha256Hex16 } from "../util/hash.ts";
import { runCli } from "./helpers_cli.ts";
import { readCapsFile } from "../adapter/caps_file.ts";
import type { RunDevice } from "../gpu/runtime.ts";
import { runCase } from "../runner/run_case.ts";
import { tidyCaseId } from "../cli/explain.ts";

const gpu = await hasAdapter();

Deno.test({
  name:
    "explain --case: the plan run records for each tiny f32 smoke case, paged and split ones too",
  ignore: !gpu,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-explain-case-" });
    try {
      // the varlen, paged and split cases (and the cross-tile prefill) of tiny f32
      const filter = "preset=tiny;dtype=f32;b=1,3,6";
      const report = await runMatrix({
        matrix: "smoke",
        filter,
        out,
        repeats: 0,
        progress: SILENT_PROGRESS,
      });
      const { all, baseDir } = await selectCases({ matrix: "smoke", filter });
      const caps = await probeCaps();
      let planned = 0;
      for (const r of report.results) {
        const c = all.find((x) => x.id === r.id)!;
        const { explanation } = await explainMatrixCase(c, baseDir, caps);
        if (r.planDigest === undefined) continue;
        assert.equal(explanation.resolution.kind, "plan", r.id);
        assert.equal(await sha256Hex16(JSON.stringify(explanation.resolution)), r.planDigest, r.id);
        planned++;
      }
      // the shapes the flags cannot give are among them
      const ids = report.results.filter((r) => r.planDigest !== undefined).map((r) => r.id);
      assert.ok(ids.some((id) => /;page=\d/.test(id)), "a paged case");
      assert.ok(ids.some((id) => /;splits=\d/.test(id)), "a split case");
      assert.ok(planned >= 15, `${planned} planned cases compared`);
      // the CLI prints that digest (README pointed to it, and nothing showed it)
      const r = report.results.find((x) => x.planDigest !== undefined)!;
      const cli = await runCli(["explain", "--case", r.id, "--json"]);
      assert.equal(JSON.parse(cli.stdout).planDigest, r.planDigest, cli.stderr);
      const text = await runCli(["explain", "--case", r.id]);
      assert.ok(text.stdout.includes(`plan digest ${r.planDigest}`), text.stdout);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("explain --case: an id not in the matrix, or with shape flags, is exit 2 saying why", async () => {
  const caps = "tests/fixtures/caps_lavapipe.json";
  const id = "preset=tiny;path=absorbed;dtype=f32;b=1;sq=40;sk=70;layout=bshd;causal=1";
  const ok = await runCli(["explain", "--case", id, "--caps", caps, "--json"]);
  assert.equal(ok.code, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.case.id, id);
  assert.equal(j.case.matrix, "smoke");
  assert.match(j.case.group, /causal prefill across key tiles/);
  assert.equal(j.resolution.layout.totalQ, 40);
  // how the case's config was read, as the help lists it (it was missing)
  assert.equal(j.config.format, "preset");
  assert.ok(Array.isArray(j.config.defaulted));
  const missing = await runCli(["explain", "--case", id.replace("sk=70", "sk=71"), "--caps", caps]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /matrix smoke has no case ".*sk=71.*" \(\d+ cases; the nearest: /);
  // an id as copied (spaces, a trailing ";", keys in another order) is the case, said so:
  // it was "has no case", and a reordered id's nearest was the path=expanded case
  const copied = " path=absorbed; preset=tiny;dtype=f32;b=1;sq=40;sk=70;layout=bshd;causal=1; ";
  const spaced = await runCli(["explain", "--case", copied, "--caps", caps, "--json"]);
  assert.equal(spaced.code, 0, spaced.stderr);
  assert.equal(JSON.parse(spaced.stdout).case.id, id);
  assert.match(
    spaced.stderr,
    /note: --case ".*" read as preset=tiny;path=absorbed;dtype=f32;b=1;sq=40;sk=70;/,
  );
  const reordered = await runCli([
    "explain",
    "--case",
    "path=absorbed;preset=tiny;dtype=f32;b=2;sq=1;sk=21;layout=bshd;causal=1",
    "--caps",
    caps,
  ]);
  assert.equal(reordered.code, 2);
  assert.match(
    reordered.stderr,
    /the nearest: preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;/,
  );
  // a bench matrix's name (a bench report's id beside it) read "cannot be read ('tiny')"
  const bench = await runCli(["explain", "--case", id, "--matrix", "tiny", "--caps", caps]);
  assert.equal(bench.code, 2);
  assert.match(bench.stderr, /--matrix tiny: a bench matrix \(`bench --matrix tiny` runs it\)/);
  // a bench report's id: said so, with the flags of its shape (it was "has no case", and
  // the nearest run case named)
  const benchId = "preset=tiny;h=4;path=absorbed;dtype=f32;b=1;sq=1;sk=64;causal=0;page=0";
  const benchCase = await runCli(["explain", "--case", benchId, "--caps", caps]);
  assert.equal(benchCase.code, 2);
  assert.match(
    benchCase.stderr,
    /a bench case id .*explain tiny --batch 1 --seq-q 1 --seq-k 64 --dtype f32 --no-causal --backend auto:absorbed /,
  );
  const flags = await runCli(["explain", "tiny", "--case", id, "--seq-k", "9", "--caps", caps]);
  assert.equal(flags.code, 2);
  assert.match(flags.stderr, /the config argument tiny, --seq-k would be ignored/);
  const matrixAlone = await runCli(["explain", "tiny", "--matrix", "smoke", "--caps", caps]);
  assert.equal(matrixAlone.code, 2);
  assert.match(matrixAlone.stderr, /--matrix smoke is read with --case <id> only/);
  const nothing = await runCli(["explain", "--caps", caps]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /give a preset name or a config\.json path .*or --case <id>/);
  for (const r of [missing, bench, benchCase, flags, matrixAlone, nothing]) {
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

Deno.test("explain --case gives each case run refuses beyond its plan the verdict run gives (runChecks)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-explain-run-checks-" });
  try {
    await Deno.copyFile(
      new URL("./fixtures/model_variants/gated_tiny.config.json", import.meta.url),
      `${dir}/gated_tiny.config.json`,
    );
    const gatedLayer = { preset: "gated_tiny.config.json", mode: "layer", sq: 6, sk: 6 };
    await Deno.writeTextFile(
      `${dir}/m.json`,
      JSON.stringify({
        name: "run-checks",
        groups: [
          {
            name: "path",
            axes: { preset: "tiny", path: "absorbed", backend: "wgsl-expanded", sq: 1, sk: 8 },
          },
          // (expected invalid: a layer case that is not self-attention is otherwise refused
          // on load, matrix/expand.ts layerNotSelfAttention)
          {
            name: "self-attention",
            axes: { preset: "tiny", mode: "layer", sq: 1, sk: 8 },
            expect: { support: "invalid", codes: ["self-attention"] },
          },
          { name: "layer", axes: gatedLayer },
          {
            name: "path first",
            axes: { ...gatedLayer, path: "absorbed", backend: "wgsl-expanded" },
          },
        ],
      }),
    );
    const caps = await readCapsFile(
      new URL("./fixtures/caps_lavapipe.json", import.meta.url).pathname,
    );
    // run refuses these before anything reaches a device: its caps are all it reads
    const ctx = { caps } as unknown as RunDevice;
    const { all, baseDir } = await selectCases({ matrix: `${dir}/m.json` });
    const seen: string[] = [];
    for (const c of all) {
      const ran = await runCase(c, { ctx, baseDir });
      const { explanation, runNotes } = await explainMatrixCase(c, baseDir, caps);
      assert.equal(explanation.resolution.kind, "plan", c.id);
      // run's verdict is explain's first note, word for word
      if (ran.decision === "invalid") {
        assert.equal(runNotes[0], `invalid: ${ran.message}`, c.id);
      } else {
        assert.equal(ran.decision, "unsupported", `${c.id}: ${ran.message}`);
        assert.deepEqual(
          runNotes.slice(0, ran.reasons!.length),
          ran.reasons!.map((r) => `unsupported: ${r.code}: ${r.message}`),
          c.id,
        );
      }
      const said = runNotes.map((n) => n.startsWith("invalid: ") ? "invalid" : n.split(": ")[1]);
      seen.push(`${c.group}: run ${ran.decision}; explain ${said.join(", ")}`);
    }
    assert.deepEqual(seen, [
      "path: run unsupported; explain backend.path-mismatch",
      "self-attention: run invalid; explain invalid",
      "layer: run unsupported; explain spec.output-gate",
      "path first: run unsupported; explain backend.path-mismatch, spec.output-gate",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("explain --case resolves every adapter and smoke case as run does, on a gpu-class and a cpu-class device", async () => {
  // one source for a case's device and options (caseDevice): explain --case built its own
  // (profile, forced splits) beside run's resolveCase
  const { H100_CAPS, LAVAPIPE_CAPS } = await import("./caps_fixtures.ts");
  const { caseRequest, resolveCase } = await import("../runner/case_request.ts");
  const { caseBackend, caseSeed } = await import("../runner/run_case.ts");
  const differ: string[] = [];
  let compared = 0;
  for (const matrix of ["adapter", "smoke"]) {
    const { all, baseDir } = await selectCases({ matrix });
    for (const c of all) {
      for (const [device, caps] of [["h100", H100_CAPS], ["lavapipe", LAVAPIPE_CAPS]] as const) {
        let req;
        try {
          req = await caseRequest(c.params, { seed: caseSeed(c.id, c.seed), baseDir });
        } catch {
          continue; // an invalid config: neither resolves it
        }
        const ran = resolveCase(req, c, caps, caseBackend(c, {}));
        const explained = (await explainMatrixCase(c, baseDir, caps)).explanation.resolution;
        compared++;
        if (JSON.stringify(explained) !== JSON.stringify(ran)) differ.push(`${device} ${c.id}`);
      }
    }
  }
  assert.ok(compared > 300, `${compared} compared`);
  assert.deepEqual(differ, []);
});

Deno.test("planDigestOf: the adapter's reasons riding in the variant are no change of plan; a launch parameter is", async () => {
  const { H100_CAPS } = await import("./caps_fixtures.ts");
  const { caseRequest, resolveCase } = await import("../runner/case_request.ts");
  const { caseBackend, caseSeed, planDigestOf } = await import("../runner/run_case.ts");
  const { all, baseDir } = await selectCases({
    matrix: "smoke",
    filter: "preset=tiny;path=expanded;dtype=f32;sq=4;layout=bshd;causal=1",
  });
  const c = all[0];
  const req = await caseRequest(c.params, { seed: caseSeed(c.id, c.seed), baseDir });
  const plan = resolveCase(req, c, H100_CAPS, caseBackend(c, {}));
  assert.equal(plan.kind, "plan");
  if (plan.kind !== "plan") return;
  assert.equal(plan.backend, "wgsl-expanded-tiled");
  assert.ok(plan.variant.queryTileChoice, "the H100's FA2 plan says why its query tile");
  // explain's reasons (queryTileChoice, kvSplitsBudget) left out: the digest of the plan as
  // written before they rode in it, which baselines recorded
  const { queryTileChoice: _, ...bare } = plan.variant;
  const before = await sha256Hex16(JSON.stringify({ ...plan, variant: bare }));
  assert.equal(await planDigestOf(plan), before);
  assert.notEqual(
    await planDigestOf({
      ...plan,
      variant: { ...plan.variant, kvSplits: plan.variant.kvSplits + 1 },
    }),
    before,
  );
});

Deno.test("explain --case warns, as run does, where the case's device profile asks more than the device has", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const matrix = `${dir}/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({
        name: "big",
        devices: { big: { limits: { maxComputeWorkgroupStorageSize: 65536 } } },
        groups: [{
          name: "g",
          axes: { preset: "tiny", path: "absorbed", b: 1, sq: 1, sk: 8, device: "big" },
        }],
      }),
    );
    const id = "preset=tiny;path=absorbed;dtype=f32;b=1;sq=1;sk=8;layout=bshd;causal=1;device=big";
    const r = await runCli([
      "explain",
      "--matrix",
      matrix,
      "--case",
      id,
      "--caps",
      "tests/fixtures/caps_lavapipe.json",
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /warning: device profile "big" asks maxComputeWorkgroupStorageSize 65536, above this device's 32768; its cases use 32768/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tidyCaseId: an id copied with spaces, a trailing ';' or %-escapes reads as written", () => {
  const id = "preset=tiny;b=2;sq=1";
  assert.equal(tidyCaseId(id), id);
  assert.equal(tidyCaseId(" preset = tiny; b=2 ;sq=1; "), id);
  assert.equal(tidyCaseId("preset%3Dtiny%3Bb%3D2%3Bsq%3D1"), id);
  assert.equal(tidyCaseId("preset=tiny;b=2;sq=1;;"), id);
  // a % that is no escape stays
  assert.equal(tidyCaseId("preset=a%zz.json"), "preset=a%zz.json");
});
