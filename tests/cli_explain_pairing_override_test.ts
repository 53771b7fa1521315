import assert from "node:assert/strict";
import { runCli } from "./helpers_cli.ts";
import { GOOD_HF } from "./config_helpers.ts";

const caps = "tests/fixtures/caps_lavapipe.json";

// `explain <config> --pairing neox` over a config whose rope_interleave is true printed
// "defaulted: none (every RoPE/YaRN field is given)" and "pairing neox": nothing said that the
// config's own pairing was put aside, in the text or in --json's config reading.
Deno.test("explain --pairing: the override and the config's own pairing are said, text and --json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-pairing-" });
  try {
    const config = `${dir}/config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        ...GOOD_HF,
        rope_theta: 10000,
        rope_scaling: null,
        rope_interleave: true,
      }),
    );
    const text = await runCli(["explain", config, "--pairing", "neox", "--caps", caps]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^ {2}overridden rope_pairing = "neox" \(--pairing; the config alone gives "interleaved"\)$/m,
    );
    assert.match(text.stdout, /pairing neox/);
    const json = await runCli(["explain", config, "--pairing", "neox", "--caps", caps, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).config.overridden, [{
      field: "rope_pairing",
      value: "neox",
      note: '--pairing; the config alone gives "interleaved"',
    }]);
    // without --pairing: nothing overridden
    const plain = await runCli(["explain", config, "--caps", caps, "--json"]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).config.overridden, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("explain <preset> --pairing: the preset's own pairing is said", async () => {
  const r = await runCli(["explain", "tiny", "--pairing", "neox", "--caps", caps]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^ {2}overridden rope_pairing = "neox" \(--pairing; the config alone gives "interleaved"\)$/m,
  );
});
