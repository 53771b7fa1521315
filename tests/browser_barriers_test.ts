/**
 * The barrier check of what a user backend compiles reaches the report from the Chromium
 * page too: a copy of the naive example that builds a race into its WGSL in code (its
 * listed file is clean, so the load says nothing) runs in the page, whose check sends its
 * findings with each case's reply (kernels/module_barriers.ts `addCompiledFindings`). And a
 * GPU error of a pass a user backend left floating in the page comes back with the replies
 * too (the page listens for "uncapturederror"), said and recorded as under Deno.
 *
 * @module
 */
import assert from "node:assert/strict";
import { browserTestName, chromiumMissing, runHarness } from "./browser_helpers.ts";
import { EDITS } from "./fixtures/backends/racy_built.ts";

const ignore = chromiumMissing() !== null;

Deno.test({
  name: browserTestName(
    "run --runtime chromium: a race a user backend builds in code in the page is in report.json",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-racy-chromium-" });
    try {
      // naive's module, its fetched source edited as racy_built.ts edits it
      const src = await Deno.readTextFile("examples/backends/naive/mod.ts");
      const edits = EDITS.map(([from, to]) =>
        `.replace(${JSON.stringify(from)}, ${JSON.stringify(to)})`
      ).join("");
      const racy = src.replace('export const id = "naive";', 'export const id = "naive-racy";')
        .replace("source = await r.text();", `source = (await r.text())${edits};`);
      assert.ok(racy.includes("naive-racy") && racy.includes("wg_scale"), "the edits took");
      await Deno.writeTextFile(`${dir}/mod.ts`, racy);
      await Deno.copyFile("examples/backends/naive/naive.wgsl", `${dir}/naive.wgsl`);
      const r = await runHarness([
        ...["run", "--runtime", "chromium", "--backend-module", `${dir}/mod.ts`],
        ...["--backend", "naive-racy", "--matrix", "smoke", "--repeats", "0"],
        ...["--filter", "preset=tiny;dtype=f32;path=absorbed;layout=thd;sq=1"],
        ...["--out", `${dir}/out`],
      ]);
      assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
      // the load checked the clean listed file: nothing there
      assert.doesNotMatch(r.stderr, /warning: backend naive-racy \(module/);
      assert.match(
        r.stderr,
        /warning: backend naive-racy: hazard naive\.wgsl:\d+ \(f32\), as its launch compiled it: write of wg_scale/,
      );
      const report = JSON.parse(await Deno.readTextFile(`${dir}/out/report.json`));
      assert.equal(report.barrierFindings.length, 1, JSON.stringify(report.barrierFindings));
      assert.equal(report.barrierFindings[0].backend, "naive-racy");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: browserTestName(
    "a pass a launch() left floating in the page is said and recorded by compare-runtimes " +
      "and run --runtime chromium (the page did not listen for uncapturederror: lost)",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-late-chromium-" });
    try {
      // the floating-pass fixture over a copy of naive beside it, whose file it lists (the
      // page is served only the files a module lists)
      const fixture = await Deno.readTextFile("tests/fixtures/backends/launch_pass_after_case.ts");
      await Deno.writeTextFile(
        `${dir}/mod.ts`,
        fixture.replaceAll("../../../examples/backends/naive/mod.ts", "./naive.ts") +
          'export const files = ["naive.wgsl"];\n',
      );
      await Deno.copyFile("examples/backends/naive/mod.ts", `${dir}/naive.ts`);
      await Deno.copyFile("examples/backends/naive/naive.wgsl", `${dir}/naive.wgsl`);
      const common = [
        ...["--backend-module", `${dir}/mod.ts`, "--backend", "naive-pass-after-case"],
        ...[
          "--matrix",
          "smoke",
          "--filter",
          "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=4;causal=1",
        ],
        ...["--max-cases", "1"],
      ];
      const line =
        /warning: a GPU error arrived outside every case's error scope, after case "([^"]+)".*: \[Buffer "freed"\] used in submit while destroyed/;
      const c = await runHarness(["compare-runtimes", ...common, "--out", `${dir}/cmp`]);
      assert.ok(c.code === 0 || c.code === 1, c.stdout + c.stderr);
      assert.match(c.stderr, new RegExp(`^chromium: ${line.source}`, "m"));
      const cmp = JSON.parse(await Deno.readTextFile(`${dir}/cmp/compare-runtimes.json`));
      const fromPage = cmp.lateGpuErrors.filter((e: { runtime: string }) =>
        e.runtime === "chromium"
      );
      assert.equal(fromPage.length, 1, JSON.stringify(cmp.lateGpuErrors));
      assert.equal(fromPage[0].afterCase, cmp.cases[0].id);
      // listed in the .md, and each on a line of the .jsonl a kill leaves (the .json only)
      const md = await Deno.readTextFile(`${dir}/cmp/compare-runtimes.md`);
      assert.match(
        md,
        /\n## GPU errors outside every case's error scope\n\n(- .*\n)*- chromium, after case /,
      );
      const lines = (await Deno.readTextFile(`${dir}/cmp/compare-runtimes.jsonl`)).trim()
        .split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.filter((l) => l.lateGpuError !== undefined).map((l) => l.lateGpuError),
        cmp.lateGpuErrors,
      );
      const r = await runHarness([
        ...["run", "--runtime", "chromium", ...common, "--repeats", "0", "--out", `${dir}/run`],
      ]);
      assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
      assert.match(r.stderr, line);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/run/report.json`));
      assert.equal(report.lateGpuErrors?.length, 1, JSON.stringify(report.lateGpuErrors));
      assert.equal(report.lateGpuErrors[0].afterCase, report.results[0].id);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: browserTestName(
    "run --runtime chromium: a backend module that throws at import in the page only is exit 2 " +
      "naming it (it was an internal error with the harness's stack, exit 1)",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-page-import-" });
    try {
      const r = await runHarness([
        "run",
        ...["--runtime", "chromium"],
        ...["--backend-module", "tests/fixtures/backends/page_import_throws.ts"],
        ...["--backend", "naive-page-import-throws"],
        ...["--filter", "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=4;causal=1"],
        ...["--repeats", "0", "--out", `${dir}/run`],
      ]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /internal error| {4}at /);
      assert.match(
        r.stderr,
        /^error: tests\/fixtures\/backends\/page_import_throws\.ts: not a backend module in the browser page\n.*could not be loaded in the Chromium page .*: Error: this module reads Deno\.env at import$/m,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: browserTestName(
    "run --runtime chromium: a user backend's console.warn and a throw in its timer in the " +
      "page are said with the case (they were kept in the page's log, unread)",
  ),
  ignore,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-page-console-" });
    try {
      const r = await runHarness([
        "run",
        ...["--runtime", "chromium"],
        ...["--backend-module", "tests/fixtures/backends/page_console.ts"],
        ...["--backend", "naive-page-console"],
        ...["--filter", "preset=tiny;dtype=f32;path=absorbed;layout=bshd;sq=4;causal=1"],
        ...["--repeats", "0", "--out", `${dir}/run`],
      ]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const id = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=4;sk=20;layout=bshd;causal=1";
      const lines = r.stdout.split("\n").concat(r.stderr.split("\n"))
        .filter((l) => l.startsWith("chromium page: "));
      assert.deepEqual(lines.map((l) => l.replace(/ \(at \S+\)$/, "")), [
        `chromium page: console.warn during case "${id}": page-console fixture: a warning ` +
        "from launch()",
        `chromium page: an uncaught exception during case "${id}" (a throw in a timer, an ` +
        "event or an un-awaited promise: no case's result includes it): Error: page-console " +
        "fixture: a throw in a timer",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
