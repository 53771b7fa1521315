/**
 * Options only read with another are exit 2 naming both when it is absent, before anything
 * runs or is written (as `--chromium` without `--runtime chromium` is): `run --fail-on` and
 * `run --thresholds` without `--baseline`, `history --label` without `--add`, `layer
 * --check-rows` with `--no-check`. With what they need, or not given, they pass.
 */
import assert from "node:assert/strict";
import { CliError } from "../cli/errors.ts";
import { checkOptionNeeds } from "../cli/option_needs.ts";
import { HistoryStore } from "../drift/mod.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const ONE = "preset=tiny;layout=bshd;sq=1;causal=1;dtype=f32;path=absorbed";
/** No adapter: a command that got past its option checks would be exit 3, never run a case. */
const NO_ADAPTER = { DENO_WEBGPU_BACKEND: "dx12" };
const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;

Deno.test("checkOptionNeeds: refuses an option given without what it is read with", () => {
  checkOptionNeeds("run", [{ option: "--fail-on", value: "none", needs: "--baseline", met: true }]);
  checkOptionNeeds("run", [
    { option: "--fail-on", value: undefined, needs: "--baseline", met: false },
  ]);
  assert.throws(
    () =>
      checkOptionNeeds("run", [
        { option: "--thresholds", value: "t.json", needs: "--baseline", met: false },
      ]),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === 2 &&
      e.message ===
        "run: --thresholds t.json is only read with --baseline, and no --baseline is given; " +
          "add --baseline, or drop --thresholds",
  );
});

Deno.test("CLI: bench --force without --out is exit 2 (a flag is named without a value)", async () => {
  const r = await runCli(["bench", "--force", "--filter", "preset=tiny"], NO_ADAPTER);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(
    r.stderr.includes(
      "bench: --force is only read with --out, and no --out is given; add --out <dir> (the " +
        "folder whose unfinished bench --force replaces), or drop --force",
    ),
    r.stderr,
  );
});

Deno.test("CLI: run --fail-on/--thresholds without --baseline, layer --check-rows with --no-check: exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-option-needs-" });
  try {
    await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify({ alpha: 0.01 }));
    const run = (...args: string[]) =>
      runCli(["run", "--filter", ONE, "--out", `${dir}/out`, ...args], NO_ADAPTER);
    const layer = (...args: string[]) =>
      runCli([
        "layer",
        ...["--config", "tiny", "--input", `${F}tiny_input_bshd.safetensors`],
        ...["--out", `${dir}/y.safetensors`, ...args],
      ], NO_ADAPTER);
    const [failOn, none, thresholds, rows] = await Promise.all([
      run("--fail-on", "numeric-drift,speed-regression"),
      run("--fail-on", "none"),
      run("--thresholds", `${dir}/t.json`),
      layer("--no-check", "--check-rows", "3"),
    ]);
    const refused: [typeof failOn, string][] = [
      [
        failOn,
        "run: --fail-on numeric-drift,speed-regression is only read with --baseline, and no " +
        "--baseline is given; add --baseline, or drop --fail-on",
      ],
      [none, "run: --fail-on none is only read with --baseline"],
      [thresholds, `run: --thresholds ${dir}/t.json is only read with --baseline`],
      [
        rows,
        "layer: --check-rows 3 is only read with the float64 reference check, and --no-check " +
        "skips it; drop --check-rows or --no-check",
      ],
    ];
    for (const [r, message] of refused) {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.ok(r.stderr.includes(message), r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["t.json"], "nothing written");
    // each alone, or with what it needs, gets past the check (to the missing adapter: exit 3)
    await Deno.mkdir(`${dir}/no-baselines`); // a folder without this device's baseline
    const passing = await Promise.all([
      layer("--no-check"),
      layer("--check-rows", "3"),
      run(
        "--baseline",
        `${dir}/no-baselines`,
        "--fail-on",
        "none",
        "--thresholds",
        `${dir}/t.json`,
      ),
    ]);
    for (const r of passing) {
      assert.equal(r.code, 3, r.stdout + r.stderr);
      assert.doesNotMatch(r.stderr, /is only read with/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: history --label without --add is exit 2, the database untouched; a plain query runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-option-needs-" });
  try {
    const db = `${dir}/history.sqlite`;
    const store = await HistoryStore.open(db);
    try {
      await store.append(reportOf([caseResult(ONE, 1, 1)]), { backend: "vulkan" });
    } finally {
      store.close();
    }
    const before = await Deno.readFile(db);
    const r = await runCli(["history", "--db", db, "--label", "nightly"]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.ok(
      r.stderr.includes(
        "history: --label nightly is only read with --add, and no --add is given; add --add " +
          "<reports...> to label the runs it adds",
      ),
      r.stderr,
    );
    assert.deepEqual(await Deno.readFile(db), before, "the database is untouched");
    const plain = await runCli(["history", "--db", db]);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
