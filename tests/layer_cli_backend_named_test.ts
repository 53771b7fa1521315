/**
 * `layer` names the attention backend that ran, on its first line and in the output file's
 * `__metadata__`: before, both named only the path, so a FAIL (or a timing) could not be tied
 * to a kernel, and `--backend wgsl-absorbed-tiled` ran without the output saying so.
 */
import assert from "node:assert/strict";
import { SafetensorsFile } from "../weights/safetensors.ts";
import { currentBackend } from "../drift/device_key.ts";
import { type GpuNeeds, ignoreReason, nameWithReason } from "./gpu_helpers.ts";
import { runTinyLayer, writeTinyInput } from "./helpers_cli.ts";

const VK = { DENO_WEBGPU_BACKEND: currentBackend() };

function cliTest(name: string, fn: () => Promise<void>, needs: GpuNeeds = {}): void {
  const reason = ignoreReason(needs);
  Deno.test({ name: nameWithReason(name, reason), ignore: reason !== null, fn });
}

for (const backend of ["wgsl-absorbed-tiled", "wgsl-expanded-tiled"]) {
  cliTest(
    `layer --backend ${backend}: the first line and the output's metadata name it`,
    async () => {
      const dir = await Deno.makeTempDir({ prefix: "mla-layer-backend-" });
      try {
        await writeTinyInput(dir);
        const r = await runTinyLayer(dir, ["--backend", backend], VK);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const path = backend.startsWith("wgsl-absorbed") ? "absorbed" : "expanded";
        assert.match(
          r.stdout,
          new RegExp(
            `^layer tiny: 4 tokens in 1 sequence \\(bshd\\), path ${path}, dtype f32, ` +
              `backend ${backend}, weights random \\(seed 1\\)$`,
            "m",
          ),
        );
        const f = await SafetensorsFile.open(`${dir}/y.safetensors`);
        try {
          assert.equal(f.metadata?.backend, backend);
          assert.equal(f.metadata?.path, path);
        } finally {
          f.close();
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}
