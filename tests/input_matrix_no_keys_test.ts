// sk = 0 (no sequence has a key): every GPU backend refuses it with `layout.no-keys`, so
// explain says unsupported and run records an unsupported decision instead of a GPU error
// (WebGPU cannot bind the empty key cache). Varlen with some empty sequences stays supported.
import assert from "node:assert/strict";
import { BUNDLED_KERNEL_FILES } from "../adapter/backends.ts";
import { presetSpec } from "../adapter/presets.ts";
import { NO_KEYS_CODE, resolve } from "../adapter/resolve.ts";
import type { LayoutRequest } from "../adapter/types.ts";
import { hasAdapter } from "../gpu/device.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { layoutOfCase } from "../runner/case_request.ts";
import { runMatrix } from "../runner/run_matrix.ts";
import { LAVAPIPE_CAPS as caps } from "./caps_fixtures.ts";
import { runCli } from "./helpers_cli.ts";
import { SILENT_PROGRESS } from "../report/progress.ts";

const gpu = await hasAdapter();
const spec = presetSpec("tiny");
const noKeys: LayoutRequest = { kind: "bshd", batch: 2, seqQ: 1, seqK: 0, causal: true };

Deno.test("sk = 0: every GPU backend refuses it with layout.no-keys; the CPU reference plans it", () => {
  for (const backend of Object.keys(BUNDLED_KERNEL_FILES)) {
    const r = resolve({ spec, layout: noKeys, dtype: "f32", backend }, caps);
    assert.equal(r.kind, "unsupported", backend);
    if (r.kind !== "unsupported") continue;
    const reason = r.reasons.find((x) => x.code === NO_KEYS_CODE);
    assert.ok(reason, `${backend}: ${JSON.stringify(r.reasons)}`);
    assert.match(reason.message, /no sequence has a key .*nothing to attend/);
    assert.match(reason.message, /covered when at least one sequence has keys/);
  }
  for (const backend of ["auto", "auto:absorbed", "auto:expanded"]) {
    const r = resolve({ spec, layout: noKeys, dtype: "f32", backend }, caps);
    assert.equal(r.kind, "unsupported", backend);
    if (r.kind === "unsupported") {
      // the case's reason, which every kernel tried gives alike: said once, not per kernel
      assert.deepEqual(r.reasons.map((x) => x.code), [NO_KEYS_CODE], backend);
      assert.ok(r.tried!.length > 1, backend);
    }
  }
  assert.equal(
    resolve({ spec, layout: noKeys, dtype: "f32", backend: "cpu-reference" }, caps).kind,
    "plan",
  );
});

Deno.test("varlen with some empty sequences (normal-empty) stays supported", () => {
  for (const layout of ["bshd", "thd"] as const) {
    const p = { ...CASE_DEFAULTS, b: 3, sk: 8, varlen: "normal-empty" as const, layout };
    const request = layoutOfCase(p, { seed: 7 });
    for (const path of ["absorbed", "expanded"]) {
      const r = resolve({ spec, layout: request, dtype: "f32", backend: `auto:${path}` }, caps);
      assert.equal(r.kind, "plan", `${layout} ${path}: ${JSON.stringify(r)}`);
      if (r.kind === "plan") assert.equal(r.layout.seqs[1].kLen, 0, "sequence 1 is empty");
    }
  }
});

Deno.test("CLI: explain --seq-k 0 says unsupported with layout.no-keys (exit 3)", async () => {
  const r = await runCli([
    "explain",
    "tiny",
    "--seq-k",
    "0",
    "--caps",
    "tests/fixtures/caps_lavapipe.json",
  ]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /unsupported/);
  assert.match(r.stdout, /layout\.no-keys: no sequence has a key/);
});

Deno.test({
  name: "run: sk = 0 is recorded as unsupported (as expected, or unexpectedly), never a GPU error",
  ignore: !gpu,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/m.json`;
      const axes = { preset: "tiny", path: ["absorbed", "expanded"], sk: 0 };
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          name: "sk0",
          groups: [
            { name: "expected", axes, expect: { support: "unsupported", codes: [NO_KEYS_CODE] } },
            { name: "plain", axes: { ...axes, b: 2 } },
            // a candidate's code still names the reason every candidate gave (said once)
            {
              name: "prefixed",
              axes: { ...axes, path: "absorbed", b: 3 },
              expect: { support: "unsupported", codes: ["wgsl-absorbed:layout.no-keys"] },
            },
          ],
        }),
      );
      const report = await runMatrix({
        matrix: path,
        out: `${dir}/out`,
        progress: SILENT_PROGRESS,
      });
      const rows = report.results.map((r) => [r.group, r.status, r.decision]);
      assert.deepEqual(rows, [
        ["expected", "pass", "unsupported"],
        ["expected", "pass", "unsupported"],
        ["plain", "unexpected", "unsupported"],
        ["plain", "unexpected", "unsupported"],
        ["prefixed", "pass", "unsupported"],
      ]);
      for (const r of report.results) assert.match(r.message ?? "", /layout\.no-keys/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
