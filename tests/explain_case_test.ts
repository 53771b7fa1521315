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
  const missing = await runCli(["explain", "--case", id.replace("sk=70", "sk=71"), "--caps", caps]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /matrix smoke has no case ".*sk=71.*" \(\d+ cases; the nearest: /);
  const flags = await runCli(["explain", "tiny", "--case", id, "--seq-k", "9", "--caps", caps]);
  assert.equal(flags.code, 2);
  assert.match(flags.stderr, /the config argument tiny, --seq-k would be ignored/);
  const matrixAlone = await runCli(["explain", "tiny", "--matrix", "smoke", "--caps", caps]);
  assert.equal(matrixAlone.code, 2);
  assert.match(matrixAlone.stderr, /--matrix smoke is read with --case <id> only/);
  const nothing = await runCli(["explain", "--caps", caps]);
  assert.equal(nothing.code, 2);
  assert.match(nothing.stderr, /give a preset name or a config\.json path .*or --case <id>/);
  for (const r of [missing, flags, matrixAlone, nothing]) {
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});
