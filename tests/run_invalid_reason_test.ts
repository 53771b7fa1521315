// An `invalid` expectation's codes are fragments the rejection's message must hold: they say
// why the case must be rejected. A case rejected for another reason is unexpected, wherever
// the rejection comes from (the config, the layout, or mode layer on a non-self-attention
// case); before, only a config's rejection checked them, and the others passed whatever the
// matrix said.
import assert from "node:assert/strict";
import { invalidAsExpected, runChecks } from "../runner/run_case.ts";
import { layoutOfCase, notSelfAttention } from "../runner/case_request.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { CASE_DEFAULTS } from "../matrix/types.ts";
import { runCli } from "./helpers_cli.ts";

Deno.test("invalidAsExpected: every fragment must be in the message", () => {
  const expect = { support: "invalid" as const, codes: ["must be even", "rope"] };
  assert.equal(invalidAsExpected(expect, "qk_rope_head_dim: 63 must be even"), true);
  assert.equal(invalidAsExpected(expect, "mode layer runs self-attention"), false);
  assert.equal(invalidAsExpected({ support: "invalid" }, "anything"), true);
  assert.equal(invalidAsExpected({ support: "unsupported" }, "anything"), false);
});

Deno.test("CLI: mode layer rejected for another reason than the matrix expects is unexpected", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_invalid_reason_" });
  try {
    const layerDecode = { preset: "tiny", mode: "layer", sq: 1, sk: 8 };
    const run = async (codes: string[]) => {
      await Deno.writeTextFile(
        `${dir}/m.json`,
        JSON.stringify({
          name: "m",
          groups: [{ axes: layerDecode, expect: { support: "invalid", codes } }],
        }),
      );
      const r = await runCli(["run", "--matrix", `${dir}/m.json`, "--out", `${dir}/out`]);
      const line = JSON.parse((await Deno.readTextFile(`${dir}/out/results.jsonl`)).trim());
      return { code: r.code, line, text: r.stdout + r.stderr };
    };
    const right = await run(["mode layer runs self-attention"]);
    assert.equal(right.code, 0, right.text);
    assert.equal(right.line.status, "pass");

    const wrong = await run(["qk_rope_head_dim: 63 must be even"]);
    assert.equal(wrong.code, 1, wrong.text);
    assert.equal(wrong.line.status, "unexpected");
    assert.equal(wrong.line.decision, "invalid");
    assert.match(wrong.line.message, /not for the expected reason .*"qk_rope_head_dim: 63/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runChecks: a layer case with varlen on bshd is invalid whatever lengths its seed draws", () => {
  // b 1, sq = sk = 2, varlen normal: a draw of [2] made a self-attention layout, and the
  // case passed with causal=1 while causal=0 (another seed, another draw) was refused.
  const params = {
    ...CASE_DEFAULTS,
    mode: "layer" as const,
    varlen: "normal" as const,
    b: 1,
    sq: 2,
    sk: 2,
  };
  const allSk = normalizeLayout({
    kind: "bshd",
    batch: 1,
    seqQ: 2,
    seqK: 2,
    kvLens: [2],
    causal: true,
  });
  const checks = runChecks({ params }, presetSpec("tiny"), allSk, undefined);
  assert.deepEqual(checks.map((c) => c.check), ["self-attention"]);
  assert.match(
    (checks[0] as { message: string }).message,
    /^mode layer runs self-attention: .*; this case has varlen normal with layout bshd$/,
  );
  for (const causal of [true, false]) {
    const p = { ...params, causal };
    const layout = normalizeLayout(layoutOfCase(p, { seed: 7 }));
    assert.equal(runChecks({ params: p }, presetSpec("tiny"), layout, undefined).length, 1);
  }
  // thd packs each drawn length as its own prefill: self-attention every time.
  const thd = { ...params, layout: "thd" as const };
  assert.equal(notSelfAttention(thd), null);
  const packed = normalizeLayout(layoutOfCase(thd, { seed: 7 }));
  assert.deepEqual(runChecks({ params: thd }, presetSpec("tiny"), packed, undefined), []);
});
