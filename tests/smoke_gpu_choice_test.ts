// The smoke matrix as a GPU would run it, checked before any GPU is lent. On a GPU-class
// device (the H100 of docs/gpu_machine/h100-2026-11-27, and the H200 that the same caps
// with the H200's PCI id describe) the adapter picks other backends than on lavapipe: the
// tiled kernels, not the gemm kernels. tools/gpu_machine_check.sh runs the smoke matrix
// there, and issue 13 wants it to pass. So:
// 1. every smoke and nightly case is supported on those caps, each path on the backend the
//    device-class rule names (no case would be "unexpectedly unsupported" on the GPU);
// 2. on this machine's device, the tiny cases run on the backends those caps choose, with
//    the H100's SM count (MLA_HARNESS_SM_COUNT=132: the KV splits and FA2 query tile of
//    the H100's plans), and pass against the float64 reference.
import assert from "node:assert/strict";
import { loadMatrix } from "../matrix/mod.ts";
import { caseRequest, resolveCase } from "../runner/case_request.ts";
import { DEVICE_FEATURE_CODES, splitReasonCode } from "../adapter/resolve.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { deviceClassOf } from "../adapter/device_class.ts";
import { hasAdapter } from "../gpu/device.ts";
import { H100_CAPS } from "./caps_fixtures.ts";
import { runCli } from "./helpers_cli.ts";

/** The H200 SXM: the H100's caps under the H200's PCI device id (0x2335). */
const H200_CAPS: DeviceCaps = {
  ...H100_CAPS,
  adapter: { ...H100_CAPS.adapter, device: String(0x2335), description: "NVIDIA H200" },
};

/** Each case's backend on a device, or the reasons it is refused there. */
async function choices(caps: DeviceCaps, matrix = "smoke"): Promise<Map<string, string>> {
  const { cases } = await loadMatrix(matrix, {});
  const out = new Map<string, string>();
  for (const c of cases) {
    // as `run` asks: the matrix's backend axis when the case names one, else auto:<path>
    const r = resolveCase(
      await caseRequest(c.params, { seed: 1 }),
      c,
      caps,
      c.params.backend || undefined,
    );
    assert.equal(c.expect.support, "supported", `${c.id}: the ${matrix} matrix expects support`);
    out.set(
      c.id,
      r.kind === "plan"
        ? r.backend
        : `unsupported: ${r.reasons.map((x) => `${x.code} (${x.message})`).join("; ")}`,
    );
  }
  return out;
}

/**
 * The backend the device-class rule names for a GPU: the tiled kernels, dense decode and MTP
 * included (every sequence under 4 queries: the FA2 kernel with KV splits, since session 32;
 * before, the lane kernel).
 */
function gpuRule(id: string): string {
  return id.includes("path=absorbed") ? "wgsl-absorbed-tiled" : "wgsl-expanded-tiled";
}

Deno.test("on the H100 and H200 caps every smoke and nightly case is supported, on the GPU-class backends", async () => {
  for (const [name, caps] of [["H100", H100_CAPS], ["H200", H200_CAPS]] as const) {
    const cls = deviceClassOf(caps)!;
    assert.equal(cls.kind, "gpu", name);
    assert.equal(cls.smCount, 132, `${name}: SM count from the table`);
    for (const [matrix, least] of [["smoke", 100], ["nightly", 300]] as const) {
      const chosen = await choices(caps, matrix);
      assert.ok(chosen.size >= least, `${name}: ${chosen.size} ${matrix} cases`);
      const wrong = [...chosen].filter(([id, b]) => b !== gpuRule(id)).map(([id, b]) =>
        `${id}: ${b} (want ${gpuRule(id)})`
      );
      assert.deepEqual(wrong, [], `${name}, ${matrix}`);
    }
  }
});

const TINY = "preset=tiny,tiny-yarn";

// On the GL fallback too: there the adapter holds the tiled kernels' workgroup memory
// within the element cap of adapter/slow_device.ts (smaller tiles than a GPU's: the same
// attention), so each variant compiles in seconds.
Deno.test({
  name: "the tiny smoke cases pass on the backends the H100 chooses, with its SM count",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const chosen = await choices(H100_CAPS);
    const byBackend = new Map<string, Set<string>>();
    for (const [id, b] of chosen) {
      if (!/preset=tiny(-yarn)?;/.test(id)) continue;
      if (!byBackend.has(b)) byBackend.set(b, new Set());
      byBackend.get(b)!.add(id);
    }
    assert.deepEqual([...byBackend.keys()].sort(), ["wgsl-absorbed-tiled", "wgsl-expanded-tiled"]);
    let ran = 0;
    for (const [backend, ids] of byBackend) {
      const path = backend.startsWith("wgsl-absorbed") ? "absorbed" : "expanded";
      const out = await Deno.makeTempDir();
      try {
        const r = await runCli(
          [
            "run",
            "--matrix",
            "smoke",
            "--filter",
            `${TINY};path=${path}`,
            "--backend",
            backend,
            "--repeats",
            "0",
            "--out",
            out,
          ],
          { MLA_HARNESS_SM_COUNT: "132" },
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const report = JSON.parse(await Deno.readTextFile(`${out}/report.json`)) as {
          fingerprint: { adapter: { smCount?: number } };
          results: {
            id: string;
            status: string;
            decision: string;
            backend?: string;
            message: string;
            reasons?: { code: string }[];
          }[];
        };
        assert.equal(report.fingerprint.adapter.smCount, 132, "the run planned for 132 SMs");
        const results = new Map(report.results.map((x) => [x.id, x]));
        for (const id of ids) {
          const x = results.get(id);
          assert.ok(x, `${id}: not in the ${backend} run`);
          assert.equal(x.status, "pass", `${id} on ${backend}: ${x.message}`);
          if (x.decision === "supported") {
            assert.equal(x.backend, backend, id);
            ran++;
            continue;
          }
          // Refused here only for a feature this device lacks (the GL fallback's f16).
          const codes = (x.reasons ?? []).map((c) => splitReasonCode(c.code).code);
          assert.ok(
            codes.length > 0 && codes.every((c) => DEVICE_FEATURE_CODES.includes(c)),
            `${id} on ${backend}: ${x.message}`,
          );
        }
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    }
    // f32 cases run on every device; f16 ones where it has shader-f16
    assert.ok(ran >= 60, `${ran} tiny cases ran`);
  },
});
