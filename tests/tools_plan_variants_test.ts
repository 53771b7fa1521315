/**
 * tools/plan_variants.ts: every plan variant's edits apply to the tree as it is (so the GPU
 * machine's `ab_plans` step benches what it says), a copy of the tree leaves out history and
 * the GPU carry and holds the edit, an edit the file no longer holds is refused by name, and
 * the command line's errors are exit 2 with the usage.
 */
import assert from "node:assert/strict";
import { PLAN_VARIANTS, type PlanVariant, planVariantTree } from "../tools/plan_variants.ts";
import { runTool } from "./helpers_cli.ts";
import { presetSpec } from "../adapter/presets.ts";
import { resolve } from "../adapter/resolve.ts";
import type { DeviceCaps, LayoutRequest } from "../adapter/types.ts";
import { H100_CAPS } from "./caps_fixtures.ts";

const HEADLINE_DECODE: LayoutRequest = {
  kind: "bshd",
  batch: 4,
  seqQ: 1,
  seqK: 4096,
  causal: true,
};
const PREFILL_256: LayoutRequest = { kind: "bshd", batch: 1, seqQ: 256, seqK: 256, causal: true };

Deno.test("plan_variants --check: every variant applies to the tree, each named", async () => {
  const r = await runTool("plan_variants.ts", ["--check"]);
  assert.equal(r.code, 0, r.stderr);
  for (const v of PLAN_VARIANTS) {
    if (v.tuning === undefined) {
      assert.match(r.stdout, new RegExp(`^${v.name}: applies to ${v.file}$`, "m"));
    } else {
      // (the tier's default is the device's own: "default the device's tier, ...")
      assert.match(r.stdout, new RegExp(`^${v.name}: tuning \\w+ \\d+ \\(default [^)]+\\)`, "m"));
    }
  }
});

Deno.test("each tuning variant changes the plan of a headline case on an H100's caps", () => {
  const cases = [
    { backend: "wgsl-absorbed-tiled", dtype: "f16", layout: HEADLINE_DECODE },
    { backend: "wgsl-expanded-tiled", dtype: "f32", layout: PREFILL_256 },
  ] as const;
  const variantOn = (c: (typeof cases)[number], caps: DeviceCaps) => {
    const r = resolve({ spec: presetSpec("deepseek-v2-lite"), ...c }, caps);
    assert.equal(r.kind, "plan", JSON.stringify(r));
    return r.kind === "plan" ? r.variant : null;
  };
  const tuned = PLAN_VARIANTS.filter((v) => v.tuning !== undefined);
  assert.deepEqual(tuned.map((v) => v.name), ["wg128", "rows8", "split64", "fa2chunk4", "tier48k"]);
  for (const v of tuned) {
    const moved = cases.filter((c) =>
      JSON.stringify(variantOn(c, { ...H100_CAPS, tuning: v.tuning })) !==
        JSON.stringify(variantOn(c, H100_CAPS))
    );
    assert.equal(moved.length, 1, `${v.name} moves exactly one of the two kernels' plans`);
  }
});

Deno.test("planVariantTree copies the tree without .git, .device and out, and edits its file", async () => {
  const root = await Deno.makeTempDir({ prefix: "plan_root_" });
  const work = await Deno.makeTempDir({ prefix: "plan_work_" });
  try {
    await Deno.mkdir(`${root}/adapter`);
    await Deno.mkdir(`${root}/.git`);
    await Deno.mkdir(`${root}/.device`);
    await Deno.mkdir(`${root}/out`);
    await Deno.mkdir(`${root}/docs/deep`, { recursive: true });
    await Deno.writeTextFile(`${root}/adapter/plan.ts`, "export const ROWS = 32;\n");
    await Deno.writeTextFile(`${root}/docs/deep/a.md`, "kept\n");
    await Deno.writeTextFile(`${root}/.git/HEAD`, "x");
    await Deno.writeTextFile(`${root}/.device/deno.xz`, "x");
    const v: PlanVariant = {
      name: "rows8",
      file: "adapter/plan.ts",
      description: "",
      edits: [{ pattern: "ROWS = 32;", replacement: "ROWS = 8;" }],
      bench: [],
    };
    await planVariantTree(v, root, `${work}/rows8`);
    assert.equal(
      await Deno.readTextFile(`${work}/rows8/adapter/plan.ts`),
      "export const ROWS = 8;\n",
    );
    assert.equal(await Deno.readTextFile(`${root}/adapter/plan.ts`), "export const ROWS = 32;\n");
    assert.equal(await Deno.readTextFile(`${work}/rows8/docs/deep/a.md`), "kept\n");
    for (const gone of [".git", ".device", "out"]) {
      assert.equal(await Deno.stat(`${work}/rows8/${gone}`).catch(() => null), null, gone);
    }
    await assert.rejects(
      () =>
        planVariantTree(
          { ...v, edits: [{ pattern: "ROWS = 64;", replacement: "ROWS = 8;" }] },
          root,
          `${work}/bad`,
        ),
      /plan variant rows8: adapter\/plan\.ts no longer holds "ROWS = 64;"; update the variant/,
    );
    assert.equal(await Deno.stat(`${work}/bad`).catch(() => null), null, "nothing copied");
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("plan_variants' command line: no mode, both modes or an unknown variant is exit 2", async () => {
  const none = await runTool("plan_variants.ts", []);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give exactly one of --check and --work DIR[\s\S]*usage:/);
  const both = await runTool("plan_variants.ts", ["--check", "--work", "/tmp/x"]);
  assert.equal(both.code, 2);
  const only = await runTool("plan_variants.ts", ["--check", "--only", "nope"]);
  assert.equal(only.code, 2);
  assert.ok(
    only.stderr.includes(
      `--only nope: no such variant (${PLAN_VARIANTS.map((v) => v.name).join(", ")})`,
    ),
    only.stderr,
  );
  assert.ok(PLAN_VARIANTS.length >= 7, "the variants of sessions 33-40");
  const help = await runTool("plan_variants.ts", ["--help"]);
  assert.equal(help.code, 0);
  for (const v of PLAN_VARIANTS) assert.match(help.stdout, new RegExp(`^  ${v.name} \\(`, "m"));
});
