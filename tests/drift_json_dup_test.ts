// Drift inputs with a repeated key (JSON.parse keeps the last silently): a thresholds file,
// a baseline, a run's report.json. Each is exit 2 naming the file, the key and where, not a
// comparison made with one of the two values.
import assert from "node:assert/strict";
import { writeBaseline } from "../drift/mod.ts";
import { parseDriftJson } from "../drift/json_text.ts";
import { baselineOf, caseResult, reportOf, supportedCase } from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

Deno.test("parseDriftJson: a repeated key is named with its object and place; valid JSON parses", () => {
  assert.deepEqual(parseDriftJson("t.json", '{"a": {"b": 1}}'), { a: { b: 1 } });
  assert.throws(
    () => parseDriftJson("t.json", '{"a": {"b": 1,\n "b": 2}}'),
    /^DriftInputError: t\.json: key "b" appears more than once in a \(line 2, column 2\)/,
  );
  assert.throws(() => parseDriftJson("t.json", '{"a": 1,}'), /^DriftInputError: t\.json: /);
});

Deno.test("compare: a thresholds file, baseline or report.json repeating a key is exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = await writeBaseline(`${dir}/b`, baselineOf([supportedCase(A)]));
    const report = JSON.stringify(reportOf([caseResult(A, 1, 1)]));
    await Deno.writeTextFile(`${dir}/report.json`, report);
    // As given, the two compare (exit 0 or 1: no bad input).
    const fine = await runCli(["compare", base, `${dir}/report.json`]);
    assert.notEqual(fine.code, 2, fine.stderr);

    // speedRatio twice: the second (10) would have silenced every speed regression.
    await Deno.writeTextFile(`${dir}/t.json`, '{"speedRatio": 1.5, "speedRatio": 10}');
    const t = await runCli([
      "compare",
      base,
      `${dir}/report.json`,
      "--thresholds",
      `${dir}/t.json`,
    ]);
    assert.equal(t.code, 2, t.stdout + t.stderr);
    assert.match(t.stderr, /t\.json: key "speedRatio" appears more than once in \(root\)/);

    // A case's status twice in the report: "fail" then "pass" would read as a pass.
    const twice = report.replace('"status":"pass"', '"status":"fail","status":"pass"');
    assert.notEqual(twice, report);
    await Deno.writeTextFile(`${dir}/twice.json`, twice);
    const r = await runCli(["compare", base, `${dir}/twice.json`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /twice\.json: key "status" appears more than once in results\[0\]/);

    // The same in the baseline file.
    const text = await Deno.readTextFile(base);
    const dupBase = text.replace('"format":', '"format": "x", "format":');
    assert.notEqual(dupBase, text);
    await Deno.writeTextFile(`${dir}/dup_base.json`, dupBase);
    const b = await runCli(["compare", `${dir}/dup_base.json`, `${dir}/report.json`]);
    assert.equal(b.code, 2, b.stdout + b.stderr);
    assert.match(b.stderr, /dup_base\.json: key "format" appears more than once in \(root\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
