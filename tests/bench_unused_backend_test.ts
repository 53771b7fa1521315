// `bench --backend <id>` whose backend benched none of the cases (all refused: the other
// path's cases, a backend that runs on the CPU) measured nothing it was asked for. It was
// exit 0 with no word beyond each row's "unsupported": a nightly bench of a misnamed backend
// read as a pass with no figures. Now a warning in the report names it, and exit 1 (as
// `run --backend` that ran none of its cases); a device that lacks what every case needs is
// a warning only.
import assert from "node:assert/strict";
import { benchCase } from "./report_html_fixtures.ts";
import { hasAdapter } from "../gpu/device.ts";
import { BENCH_TINY_ABSORBED_ONCE, cliCommand } from "./helpers_cli.ts";
import { unusedBenchBackends } from "../bench/unused_backends.ts";
import type { BenchRecord } from "../bench/run_bench.ts";

const gpu = await hasAdapter();

const CASE = benchCase({ dtype: "f16" });

Deno.test("unusedBenchBackends: refused for the device only is a warning, not a failure", () => {
  const records: BenchRecord[] = [{
    id: "x",
    case: CASE,
    status: "unsupported",
    // a message that itself reads "word: ..." after a "; " is still one reason: the codes
    // decide, not the text (the text was split and parsed before, its "see" no device code)
    reason: "dtype.f16-unavailable: the device has no shader-f16; see: explain --case x",
    reason_codes: ["dtype.f16-unavailable"],
  }];
  const r = unusedBenchBackends(records, ["wgsl-absorbed"]);
  assert.equal(r.failed, false);
  // a refusal whose codes are not the device's fails, whatever its text says
  assert.equal(
    unusedBenchBackends(
      [{ ...records[0], reason_codes: ["backend.path-mismatch"] }],
      ["wgsl-absorbed"],
    ).failed,
    true,
  );
  // a CPU plan has no codes: not the device's
  assert.equal(
    unusedBenchBackends([{ ...records[0], reason_codes: [] }], ["cpu-reference"]).failed,
    true,
  );
  assert.match(r.lines[0], /--backend wgsl-absorbed benched none of the 1 case: this device/);
  const ran = unusedBenchBackends([{
    ...records[0],
    status: "ok",
    backend: "wgsl-absorbed",
    reason: undefined,
  }], ["wgsl-absorbed"]);
  assert.deepEqual(ran, { lines: [], failed: false });
  assert.deepEqual(unusedBenchBackends(records, []), { lines: [], failed: false });
});

Deno.test({
  name: "bench --backend that benched none of the cases: a warning naming it, exit 1",
  ignore: !gpu,
  fn: async () => {
    for (
      const args of [["--backend", "cpu-reference"], [
        "--backend",
        "wgsl-absorbed",
        "--filter",
        "path=expanded",
      ]]
    ) {
      const res = await cliCommand([
        "bench",
        "--matrix",
        "tiny",
        "--reps",
        "1",
        "--warmup-ms",
        "0",
        "--json",
        ...args,
      ]).output();
      const stderr = new TextDecoder().decode(res.stderr);
      assert.equal(res.code, 1, `${args.join(" ")}: ${stderr}`);
      const report = JSON.parse(new TextDecoder().decode(res.stdout));
      const b = args[1];
      // each refused record carries the adapter's codes beside its text
      for (const rec of report.records.filter((x: BenchRecord) => x.status === "unsupported")) {
        assert.ok(Array.isArray(rec.reason_codes), JSON.stringify(rec));
        for (const c of rec.reason_codes) assert.ok(rec.reason.includes(`${c}: `), rec.reason);
      }
      assert.ok(
        report.warnings.some((w: string) =>
          w.startsWith(`--backend ${b} benched none of the `) && w.includes("(exit 1)")
        ),
        report.warnings.join("\n"),
      );
    }
  },
});

// `bench --backend-module mine.ts` without `--backend mine` benched the bundled backends and
// said nothing (exit 0, the table's backend column the only trace), where `run` warns: a
// kernel engineer read the bundled kernels' figures as their own.
Deno.test("unusedBenchBackends: a loaded module no case was benched on is a warning", () => {
  const ok: BenchRecord = {
    id: "x",
    case: { ...CASE, dtype: "f32" },
    status: "ok",
    backend: "wgsl-absorbed-gemm",
  };
  const modules = [{ id: "naive", specifier: "examples/backends/naive/mod.ts" }];
  const r = unusedBenchBackends([ok], [], { modules });
  assert.equal(r.failed, false);
  assert.equal(r.lines.length, 1);
  assert.match(
    r.lines[0],
    /^--backend-module examples\/backends\/naive\/mod\.ts registers backend naive, which no case was benched on: .*select it with --backend naive$/,
  );
  // selected, or benched: nothing to say
  assert.deepEqual(unusedBenchBackends([{ ...ok, backend: "naive" }], [], { modules }), {
    lines: [],
    failed: false,
  });
  assert.equal(unusedBenchBackends([ok], ["naive"], { modules }).lines.length, 1);
  assert.doesNotMatch(
    unusedBenchBackends([ok], ["naive"], { modules }).lines[0],
    /--backend-module/,
  );
  // --backend of another backend: the figures are that backend's, not the adapter's choice
  const other = unusedBenchBackends([ok], ["wgsl-absorbed-gemm"], { modules });
  assert.deepEqual(other.lines, [
    "--backend-module examples/backends/naive/mod.ts registers backend naive, which no case " +
    "was benched on: --backend wgsl-absorbed-gemm was asked for instead (the adapter picks " +
    "only the bundled backends for any other path), so select it with --backend naive",
  ]);
});

Deno.test({
  name: "bench --backend-module without --backend: a warning naming the module, exit 0",
  ignore: !gpu,
  fn: async () => {
    const res = await cliCommand([
      ...BENCH_TINY_ABSORBED_ONCE,
      "--backend-module",
      "examples/backends/naive/mod.ts",
    ]).output();
    const stderr = new TextDecoder().decode(res.stderr);
    assert.equal(res.code, 0, stderr);
    const report = JSON.parse(new TextDecoder().decode(res.stdout));
    assert.ok(
      (report.warnings ?? []).some((w: string) =>
        w.startsWith("--backend-module examples/backends/naive/mod.ts registers backend naive")
      ),
      JSON.stringify(report.warnings),
    );
  },
});
