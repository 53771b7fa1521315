import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import type { Ceilings } from "../bench/ceilings.ts";
import {
  checkReferenceAdapter,
  parseReferenceCeilings,
  readReferenceCeilings,
  REFERENCE_LOW_SHARE,
  withReferenceCeilings,
} from "../bench/reference_ceilings.ts";
import { formatTable, referenceLine, toMarkdown } from "../bench/report.ts";

const measured: Ceilings = {
  source: "timestamp-query",
  copyGBps: 2.08,
  readGBps: 7.5,
  fmaGflops: 130,
  fma4Gflops: 70,
  fma32Gflops: 130,
  fmaF16Gflops: 26,
  dispatchUs: 36,
  submitReadbackMs: 11,
  samples: { copy: [64.5] },
  measurements: 2,
};

const reference = parseReferenceCeilings(
  {
    machine: { adapter: "llvmpipe (LLVM 15.0.6, 256 bits)", cpu: "AMD EPYC" },
    ceilings: { copyGBps: 9.77, readGBps: 10.21, fmaGflops: 123.3, dispatchUs: 30 },
    records: [],
  },
  "quiet/report.json",
);

Deno.test("reference ceilings: a bench report's adapter and copy, read and FMA figures are read", () => {
  assert.deepEqual(reference, {
    file: "quiet/report.json",
    adapter: "llvmpipe (LLVM 15.0.6, 256 bits)",
    copyGBps: 9.77,
    readGBps: 10.21,
    fmaGflops: 123.3,
  });
});

Deno.test("reference ceilings: each figure is the higher one; a measured one under half warns", () => {
  const { ceilings, used, warnings } = withReferenceCeilings(measured, reference);
  // copy 2.08 < 9.77 / 2: raised and warned; read 7.5 >= 10.21 / 2: raised, no warning;
  // FMA 130 > 123.3: this run's figure stays.
  assert.equal(ceilings.copyGBps, 9.77);
  assert.equal(ceilings.readGBps, 10.21);
  assert.equal(ceilings.fmaGflops, 130);
  assert.deepEqual(used, ["copyGBps", "readGBps"]);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /copy 2\.08 GB\/s, under half of the 9\.77 GB\/s in the reference quiet\/report\.json/,
  );
  // Everything else is this run's measurement.
  assert.equal(ceilings.dispatchUs, 36);
  assert.equal(ceilings.fma32Gflops, 130);
  assert.deepEqual(ceilings.samples, measured.samples);
  assert.equal(REFERENCE_LOW_SHARE, 0.5);
  // At exactly half, no warning (the share is "under half").
  const half = withReferenceCeilings({ ...measured, copyGBps: 9.77 / 2 }, reference);
  assert.equal(half.warnings.length, 0);
  // A run at or above the reference uses none of it.
  const quiet = withReferenceCeilings(
    { ...measured, copyGBps: 10, readGBps: 11, fmaGflops: 124 },
    reference,
  );
  assert.deepEqual(quiet.used, []);
  assert.equal(quiet.ceilings.copyGBps, 10);
});

Deno.test("reference ceilings: a texture-read figure is read, raised and warned like the others", () => {
  const withTexture = parseReferenceCeilings(
    {
      machine: { adapter: "llvmpipe" },
      ceilings: { copyGBps: 9.77, readGBps: 10.21, textureReadGBps: 12.5, fmaGflops: 123.3 },
    },
    "quiet/report.json",
  );
  assert.equal(withTexture.textureReadGBps, 12.5);
  // This run measured it under half of the reference's: raised, with a warning.
  const low = withReferenceCeilings(
    { ...measured, copyGBps: 10, readGBps: 11, fmaGflops: 124, textureReadGBps: 5 },
    withTexture,
  );
  assert.deepEqual(low.used, ["textureReadGBps"]);
  assert.equal(low.ceilings.textureReadGBps, 12.5);
  assert.equal(low.warnings.length, 1);
  assert.match(low.warnings[0], /texture read 5\.00 GB\/s, under half of the 12\.50 GB\/s/);
  // A run measured before the figure existed takes the reference's.
  const none = withReferenceCeilings(measured, withTexture);
  assert.equal(none.ceilings.textureReadGBps, 12.5);
  assert.ok(none.used.includes("textureReadGBps"));
  // A reference without it leaves this run's figure alone.
  const own = withReferenceCeilings({ ...measured, textureReadGBps: 11 }, reference);
  assert.equal(own.ceilings.textureReadGBps, 11);
  assert.ok(!own.used.includes("textureReadGBps"));
  assert.match(
    referenceLine({ referenceCeilings: { ...withTexture, used: [] } })!,
    /read 10\.21 GB\/s, texture read 12\.50 GB\/s, FMA f32/,
  );
  // A bad figure is named.
  assert.throws(
    () =>
      parseReferenceCeilings({
        machine: { adapter: "x" },
        ceilings: { copyGBps: 1, readGBps: 1, textureReadGBps: "fast", fmaGflops: 1 },
      }, "t.json"),
    (e) => e instanceof ConfigError && e.issues.some((i) => i.path === "ceilings.textureReadGBps"),
  );
});

Deno.test("reference ceilings: the report line names the file, the figures and what they raised", () => {
  assert.equal(referenceLine({}), null);
  const line = referenceLine({ referenceCeilings: { ...reference, used: ["copyGBps"] } });
  assert.equal(
    line,
    "reference ceilings quiet/report.json: copy 9.77 GB/s, read 10.21 GB/s, FMA f32 123.3 " +
      "GFLOP/s; this run's copy raised to them",
  );
  assert.match(
    referenceLine({ referenceCeilings: { ...reference, used: [] } })!,
    /this run measured at or above them$/,
  );
});

Deno.test("reference ceilings: a file that is not a bench report names each wrong field", () => {
  assert.throws(
    () =>
      parseReferenceCeilings(
        { machine: { adapter: 7 }, ceilings: { copyGBps: -1, readGBps: 3 } },
        "r.json",
      ),
    (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^r\.json: not a bench report with ceilings/);
      const paths = e.issues.map((i) => i.path).sort();
      assert.deepEqual(paths, ["ceilings.copyGBps", "ceilings.fmaGflops", "machine.adapter"]);
      return true;
    },
  );
  assert.throws(() => parseReferenceCeilings([1, 2], "list.json"), /list\.json/);
});

Deno.test("reference ceilings: an unreadable or non-JSON file is a ConfigError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(readReferenceCeilings(`${dir}/missing.json`), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /missing\.json/);
      return true;
    });
    await Deno.writeTextFile(`${dir}/bad.json`, "{ not json");
    await assert.rejects(readReferenceCeilings(`${dir}/bad.json`), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /bad\.json/);
      assert.match(e.message, /report\.json that bench --out wrote/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reference ceilings: another adapter's report is a ConfigError naming both adapters", () => {
  checkReferenceAdapter(reference, "llvmpipe (LLVM 15.0.6, 256 bits)");
  assert.throws(() => checkReferenceAdapter(reference, "NVIDIA H200"), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.issues[0].path, "machine.adapter");
    assert.match(
      e.message,
      /quiet\/report\.json: .*measured on adapter "llvmpipe \(LLVM 15\.0\.6, 256 bits\)", this run's adapter is "NVIDIA H200"/s,
    );
    return true;
  });
});

Deno.test("reference ceilings of one adapter on another WebGPU backend (llvmpipe on Vulkan and GL) are refused by device key", () => {
  const adapter = "llvmpipe (LLVM 15.0.6, 256 bits)";
  const vulkan = parseReferenceCeilings({
    machine: { adapter, deviceKey: "llvmpipe-65541-vulkan" },
    ceilings: { copyGBps: 9.8, readGBps: 10.2, fmaGflops: 123 },
  }, "vk/report.json");
  assert.equal(vulkan.deviceKey, "llvmpipe-65541-vulkan");
  checkReferenceAdapter(vulkan, adapter, { deviceKey: "llvmpipe-65541-vulkan" });
  // a report or a run that names no key is judged by the adapter alone, as before
  checkReferenceAdapter(vulkan, adapter);
  assert.throws(
    () => checkReferenceAdapter(vulkan, adapter, { deviceKey: "llvmpipe-65541-gl" }),
    (e) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.issues[0].path, "machine.deviceKey");
      assert.match(
        e.message,
        /vk\/report\.json: .*measured as device "llvmpipe-65541-vulkan", this run is "llvmpipe-65541-gl"/s,
      );
      return true;
    },
  );
});

Deno.test("reference ceilings: the terminal table and summary.md say which reference joined", () => {
  const { ceilings, used } = withReferenceCeilings(measured, reference);
  const report = {
    machine: { cpu: "cpu", cores: 2, adapter: reference.adapter, deno: "2" },
    ceilings,
    records: [],
    targets: [],
    referenceCeilings: { ...reference, used },
  };
  const table = formatTable(report).split("\n");
  // right under the ceilings' lines
  assert.match(table[4], /^reference ceilings quiet\/report\.json: copy 9\.77 GB\/s/);
  assert.match(table[1], /^copy 9\.77 GB\/s/);
  assert.match(
    toMarkdown(report, { title: "t" }),
    /Ceilings joined with the reference ceilings quiet/,
  );
  // without one, no line and the ceilings as measured
  const plain = withReferenceCeilings(measured, undefined);
  assert.equal(plain.ceilings, measured);
  assert.doesNotMatch(formatTable({ ...report, referenceCeilings: undefined }), /reference/);
});
