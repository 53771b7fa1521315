// `explain` flags that cannot be honoured together are exit 2 naming both, not one silently
// ignored: --caps (decide for the device a file describes) with --no-device (decide as if
// there were no adapter), and --format (how to read a config.json's naming) with a preset.
import assert from "node:assert/strict";
import { loadSpec, loadSpecReading } from "../adapter/source.ts";
import { ConfigError } from "../adapter/errors.ts";
import { GOOD_MEGATRON } from "./config_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const caps = "tests/fixtures/caps_lavapipe.json";

Deno.test("explain --caps with --no-device exits 2 naming both, in either order", async () => {
  for (
    const args of [
      ["explain", "tiny", "--caps", caps, "--no-device"],
      ["explain", "tiny", "--no-device", "--caps", caps, "--json"],
    ]
  ) {
    const r = await runCli(args);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /--caps tests\/fixtures\/caps_lavapipe\.json and --no-device cannot be used together/,
    );
    assert.equal(r.stdout, "", "no explanation printed");
    assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  }
  // each alone is honoured: the caps file's device, or none
  const withCaps = await runCli(["explain", "tiny", "--caps", caps]);
  assert.equal(withCaps.code, 0, withCaps.stderr);
  assert.match(withCaps.stdout, /device llvmpipe/);
  const none = await runCli([
    "explain",
    "tiny",
    "--no-device",
    "--backend",
    "cpu-reference",
    "--json",
  ]);
  assert.equal(none.code, 0, none.stderr);
  assert.equal(JSON.parse(none.stdout).caps, null);
});

Deno.test("explain --format with a preset exits 2 naming both; with a config file it applies", async () => {
  for (const format of ["hf", "megatron"]) {
    const r = await runCli(["explain", "tiny", "--format", format, "--caps", caps]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`--format ${format} cannot be used with the preset tiny`));
    assert.match(r.stderr, /give a config\.json path, or leave --format out/);
    assert.equal(r.stdout, "");
  }
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/megatron.json`;
    await Deno.writeTextFile(path, JSON.stringify(GOOD_MEGATRON));
    const r = await runCli(["explain", path, "--format", "megatron", "--caps", caps, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).config.format, "megatron");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // the library refuses it too, in both readings (loadSpec ignored it before)
  for (const load of [loadSpecReading, loadSpec]) {
    await assert.rejects(
      () => load("tiny", { format: "megatron" }),
      (e: unknown) =>
        e instanceof ConfigError && /format: "megatron" applies to a config\.json path only/
          .test(e.message),
    );
  }
});

Deno.test("explain --help says which flags do not go together", async () => {
  const r = await runCli(["explain", "--help"]);
  assert.equal(r.code, 0, r.stderr);
  const help = r.stdout.replace(/\s+/g, " ");
  assert.match(help, /--caps <file> .*\(not with --no-device: exit 2\)/);
  assert.match(help, /--no-device .*\(not with --caps: exit 2\)/);
  assert.match(help, /--format <naming> .*not with a preset/);
});

Deno.test("explain --kv-splits over 64 is a bad flag (exit 2), not an unsupported case (exit 3)", async () => {
  const r = await runCli(["explain", "tiny", "--no-device", "--kv-splits", "1000"]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /--kv-splits 1000: over 64, the most KV splits a bundled kernel takes .*give 1 to 64/,
  );
  const ok = await runCli(["explain", "tiny", "--no-device", "--kv-splits", "64"]);
  assert.notEqual(ok.code, 2, ok.stderr);
});

Deno.test("explain --caps / --no-device say that MLA_HARNESS_SM_COUNT, _DEVICE_CLASS and _TUNING are not applied", async () => {
  const tuning = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(tuning, JSON.stringify({ knobs: { tiledMaxRows: 8 } }));
    const env = {
      MLA_HARNESS_SM_COUNT: "12",
      MLA_HARNESS_DEVICE_CLASS: "gpu",
      MLA_HARNESS_TUNING: tuning,
    };
    const r = await runCli(["explain", "tiny", "--caps", caps], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /note: MLA_HARNESS_SM_COUNT=12 is not applied: --caps .*"smCount"/);
    assert.match(r.stderr, /note: MLA_HARNESS_DEVICE_CLASS=gpu is not applied: .*"deviceClass"/);
    assert.match(r.stderr, /note: MLA_HARNESS_TUNING=\S+ is not applied: .*"tuning"/);
    // the plan is the caps file's own: lavapipe's class, no tuning line
    assert.match(r.stdout, /device class cpu/);
    assert.doesNotMatch(r.stdout, /plan tuning/);
    const none = await runCli(["explain", "tiny", "--no-device"], env);
    assert.match(none.stderr, /MLA_HARNESS_TUNING=\S+ is not applied: --no-device/);
  } finally {
    await Deno.remove(tuning);
  }
});
