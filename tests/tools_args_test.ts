// The maintainer tools' command lines (tools/tool_args.ts): a bad option or count is a line
// naming it, the tool's usage and exit 2, never a stack trace or a run on NaN; --help is exit
// 0. html_scale printed "NaN cases" and history_scale ran its year-long benchmark on --help;
// report_screenshot threw from Chromium on a width of "abc" and from the OS on a missing page.
// derive_tolerances and layer_input_scale (docs/tolerances.md) said "Unknown option '--help'",
// exit 2. compile_time said "unknown backend --help" and step_noise_rate that each argument
// must be a length (exit 2); gemm_tile_probe asked for the device, then said "bad tile
// NaNxundefinedxundefined"; bandwidth_probe, load_cost_probe and texture_timestamp_probe,
// which take no arguments, ran their GPU probes; test_runner printed `deno test --help` after
// its own notes, exit 1.
import assert from "node:assert/strict";
import { runTool } from "./helpers_cli.ts";

Deno.test("the shell tools: --help prints the header, exit 0, and runs nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tools_sh_help_" });
  try {
    // PATH without deno, DIR a temp folder: had one started after all, it would stop early
    const env = { PATH: "/usr/bin:/bin", DIR: `${dir}/mesa`, OUT: `${dir}/out`, TOTAL_S: "1" };
    for (
      const [script, head] of [
        [
          "prepare_device_carry.sh",
          /^prepare_device_carry\.sh: prepares, on the developer machine/,
        ],
        ["lavapipe_backports.sh", /^lavapipe_backports\.sh: run a command on a newer lavapipe/],
        ["gpu_machine_check.sh", /^gpu_machine_check\.sh: the script run on a lent GPU machine/],
      ] as const
    ) {
      const r = await new Deno.Command("bash", {
        args: [new URL(`../tools/${script}`, import.meta.url).pathname, "--help"],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(r.stdout);
      assert.equal(r.code, 0, `${script}: ${out}${new TextDecoder().decode(r.stderr)}`);
      assert.match(out, head);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing downloaded or written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tools: bad counts and paths are exit 2 with the usage; --help is exit 0", async () => {
  const bad: [string, string[], RegExp][] = [
    ["html_scale.ts", ["abc"], /^cases "abc": expected a whole number, at least 1\nusage: /],
    ["html_scale.ts", ["2.5"], /^cases "2\.5": expected a whole number/],
    ["html_scale.ts", ["--groups"], /^--groups "": expected a whole number, at least 1\nusage: /],
    ["html_scale.ts", ["--groups", "0", "10"], /^--groups "0": expected a whole number/],
    ["history_scale.ts", ["-3", "-2"], /^runs "-3": expected a whole number/],
    ["history_scale.ts", ["1", "2", "3"], /^3 arguments; it takes at most 2 \(runs, cases\)/],
    [
      "report_screenshot.ts",
      ["/nonexistent.html", "/tmp/x.png"],
      /^\/nonexistent\.html: no such file\nusage: /,
    ],
    [
      "report_screenshot.ts",
      ["README.md", "/tmp/x.png", "abc"],
      /^width "abc": expected a whole number/,
    ],
    ["report_screenshot.ts", ["README.md", "/tmp"], /^\/tmp: is a folder; name the PNG file/],
    // a PNG whose folder is a file: said before Chromium starts (it was a stack trace after)
    [
      "report_screenshot.ts",
      ["README.md", "README.md/x.png"],
      /^README\.md\/x\.png: README\.md is not a folder\nusage: /,
    ],
    ["reference_time.ts", ["--rounds"], /^Option '--rounds <value>' argument missing/],
    // an array too long for the engine: a RangeError and its stack trace after 14 s
    ["reference_time.ts", ["--keys", "99999999999"], /^--keys 99999999999: at most 1048576 /],
    // a file where the folder goes: once, exit 2 (it was a failure per variant, exit 1)
    ["plan_variants.ts", ["--work", "README.md"], /^--work README\.md: cannot be made a folder/],
    // an option where its folder goes: it made a folder named --zzz in the tree
    ["kernel_variants.ts", ["--zzz"], /^--zzz: expected one folder, DIR \(not an option/],
    // checked before the device is asked for, said as written
    ["gemm_tile_probe.ts", ["abc"], /^bad tile abc: TRxTCxWG, .*\nusage: /],
    ["step_noise_rate.ts", ["-x"], /^Unknown option '-x'.*\nusage: /],
    ["compile_time.ts", ["--zzz"], /^Unknown option '--zzz'.*\nusage: /],
    ["bandwidth_probe.ts", ["x"], /^Unexpected argument 'x'.*\nusage: /],
    // checked before the device is asked for
    [
      "fuzz_cases.ts",
      ["--count", "abc"],
      /^--count "abc": expected a whole number, at least 1\nusage: /,
    ],
    ["fuzz_cases.ts", ["--no-run"], /^--no-run needs --caps <file>/],
  ];
  for (const [tool, args, want] of bad) {
    const r = await runTool(tool, args);
    assert.equal(r.code, 2, `${tool} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, want, `${tool} ${args.join(" ")}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.equal(r.stdout, "", "nothing measured");
  }
  const helped = [
    "html_scale.ts",
    "history_scale.ts",
    "report_screenshot.ts",
    "derive_tolerances.ts",
    "layer_input_scale.ts",
    "reference_time.ts",
    "compile_time.ts",
    "gemm_tile_probe.ts",
    "step_noise_rate.ts",
    "bandwidth_probe.ts",
    "load_cost_probe.ts",
    "texture_timestamp_probe.ts",
    "test_runner.ts",
    "fuzz_cases.ts",
  ];
  for (const tool of helped) {
    const r = await runTool(tool, ["--help"]);
    assert.equal(r.code, 0, `${tool}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /adapter:/, `${tool}: no device asked for`);
    assert.match(
      r.stdout,
      new RegExp(`^usage: deno run -A tools/${tool.replace(".", "\\.")}[ \n]`),
    );
  }
});

// SIGHUP (a closed terminal) too since session 60: it killed the tool with its database left.
for (const [signal, code] of [["SIGINT", 130], ["SIGHUP", 129]] as const) {
  Deno.test(`history_scale: ${signal} removes its temp database (it was left in the temp folder), exit ${code}`, async () => {
    const tmp = await Deno.makeTempDir({ prefix: "history_scale_tmp_" });
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../tools/history_scale.ts", import.meta.url).pathname],
        env: { TMPDIR: tmp },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const output = child.output();
      let ended = false;
      output.finally(() => ended = true);
      // its database folder is there: the year of runs is being appended
      while (!ended && [...Deno.readDirSync(tmp)].length === 0) {
        await new Promise((r) => setTimeout(r, 100));
      }
      child.kill(signal);
      const r = await output;
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, code, err);
      assert.match(
        err,
        new RegExp(`^history_scale: stopped by ${signal}; its temp database was removed$`, "m"),
      );
      assert.deepEqual([...Deno.readDirSync(tmp)], [], "nothing left in the temp folder");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  });
}
