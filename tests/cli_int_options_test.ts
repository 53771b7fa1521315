/**
 * Integer flags take plain decimal digits only: "1e1", "0x10", "1.0", "+3" are refused
 * (Number() accepted them), in lists (--cu-seqlens) and single values (--seq-k, --repeats,
 * bench --reps), with exit 2 naming the flag.
 */
import assert from "node:assert/strict";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { parseIntList, parseNonNegativeInt, parsePositiveInt } from "../cli/options.ts";
import { noCaseTimeoutNote, parseSeconds } from "../cli/run.ts";
import { runCli, runCliInProcess } from "./helpers_cli.ts";
import { hasAdapter } from "../gpu/device.ts";

const F = new URL("./fixtures/safetensors/", import.meta.url).pathname;

Deno.test("parseIntList, parsePositiveInt, parseNonNegativeInt: decimal digits only", () => {
  assert.deepEqual(parseIntList("0, 5,12"), [0, 5, 12]);
  assert.equal(parsePositiveInt("4"), 4);
  assert.equal(parsePositiveInt(" 007 "), 7);
  assert.equal(parseNonNegativeInt("0"), 0);
  for (const bad of ["0,1e1", "0x0,10", "0,1.0", "0,+3", "0,", "0,9007199254740993"]) {
    assert.throws(() => parseIntList(bad), InvalidArgumentError, bad);
  }
  assert.throws(() => parseIntList("0,1e1"), /"1e1" \(entry 1\) is not a non-negative integer/);
  for (const bad of ["1e3", "0x10", "0b1", "0o7", "1.0", "+3", "", " ", "Infinity", "-1"]) {
    assert.throws(() => parsePositiveInt(bad), /is not an integer >= 1/, bad);
    assert.throws(() => parseNonNegativeInt(bad), /is not an integer >= 0/, bad);
  }
  assert.throws(() => parsePositiveInt("0"), /"0" is not an integer >= 1/);
  assert.throws(() => parsePositiveInt("9007199254740993"), /below 2\^53/);
});

Deno.test("CLI: --cu-seqlens 0,1e1 / 0x0,10, --seq-k 0x10, --repeats 1e3, --reps 1e3 are exit 2", async () => {
  // one spawn per command (the exit code as the shell sees it); explain's other refusals
  // end before a device, so they run in this process (one at a time: it captures console)
  const spawned = Promise.all([
    runCli(["explain", "tiny", "--layout", "thd", "--cu-seqlens", "0,1e1", "--no-device"]),
    runCli(["run", "--matrix", "smoke", "--repeats", "1e3", "--out", "/nonexistent/x"]),
    runCli(["bench", "--matrix", "tiny", "--reps", "1e3"]),
  ]);
  const hex = await runCliInProcess([
    ...["explain", "tiny", "--layout", "thd", "--cu-seqlens", "0x0,10", "--no-device"],
  ]);
  const seqK = await runCliInProcess(["explain", "tiny", "--seq-k", "0x10", "--no-device"]);
  const [sci, repeats, reps] = await spawned;
  for (const r of [hex, seqK, sci, repeats, reps]) assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(hex.stderr, /--cu-seqlens <list>.*"0x0" \(entry 0\) is not a non-negative integer/);
  assert.match(seqK.stderr, /--seq-k <n>.*"0x10" is not an integer from 0 to 1048576/);
  assert.match(sci.stderr, /--cu-seqlens <list>.*"1e1" \(entry 1\) is not a non-negative integer/);
  assert.match(repeats.stderr, /--repeats <n>.*"1e3" is not a whole number from 0 to 1000/);
  assert.match(reps.stderr, /--reps: 1e3 must be a whole number from 1 to 1000/);
});

Deno.test("parseSeconds (--case-timeout): decimal numbers only; 0x10 and 1e3 are exit 2", async () => {
  assert.equal(parseSeconds("90"), 90);
  assert.equal(parseSeconds(" 0.05 "), 0.05);
  assert.equal(parseSeconds("0"), 0);
  assert.equal(parseSeconds("2."), 2);
  assert.equal(parseSeconds(".5"), 0.5);
  assert.equal(parseSeconds("2147483"), 2147483);
  for (
    const bad of ["0x10", "1e3", "+5", "-1", "Infinity", "", " ", ".", "1.2.3", "0b1", "2147484"]
  ) {
    assert.throws(() => parseSeconds(bad), InvalidArgumentError, bad);
  }
  const [run, bench, cr] = await Promise.all([
    runCli(["run", "--case-timeout", "0x10", "--max-cases", "1"]),
    runCli(["bench", "--matrix", "tiny", "--case-timeout", "1e3", "--reps", "0"]),
    runCli(["compare-runtimes", "--case-timeout", "+5", "--max-cases", "1"]),
  ]);
  for (const r of [run, bench, cr]) assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(run.stderr, /--case-timeout <seconds>.*"0x10" must be a number of seconds/);
  assert.match(bench.stderr, /--case-timeout <seconds>.*"1e3" must be a number of seconds/);
  assert.match(cr.stderr, /--case-timeout <seconds>.*"\+5" must be a number of seconds/);
});

Deno.test("--case-timeout 0: the help and the start of a run say a hang is then not caught", async () => {
  // the help read "(0: no limit)" alone, and a case that hung then waited with no word
  // bench's and compare-runtimes' help in this process; run's spawned (exit 0, stdout)
  for (const cmd of ["bench", "compare-runtimes", "run"]) {
    const r = await (cmd === "run" ? runCli : runCliInProcess)([cmd, "--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout.replace(/\s+/g, " "),
      /\(0: no limit, and a case that hangs is then not caught: the command waits on it until a second Ctrl-C or SIGTERM abandons it and writes the reports\)/,
      cmd,
    );
  }
  assert.match(
    noCaseTimeoutNote(0) ?? "",
    /^note: --case-timeout 0: no limit; a case that hangs is not caught/,
  );
  assert.equal(noCaseTimeoutNote(0.5), null);
});

Deno.test("history --min-segment: decimal digits only (0x3, 1e1 are exit 2); --alpha 1 names the open range", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/none.sqlite`;
    // one spawn (the exit code as the shell sees it), the others in this process
    const spawned = runCli(["history", "--db", db, "--min-segment", "0x3"]);
    const sci = await runCliInProcess(["history", "--db", db, "--min-segment", "1e1"]);
    const alpha = await runCliInProcess(["history", "--db", db, "--alpha", "1"]);
    const hex = await spawned;
    for (const r of [sci, alpha, hex]) assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(sci.stderr, /--min-segment <n>.*"1e1" is not an integer >= 1/);
    assert.match(alpha.stderr, /--alpha <p>.*"1" must be a number between 0 and 1, both excluded/);
    assert.match(hex.stderr, /--min-segment <n>.*"0x3" is not an integer >= 1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("layer --check-rows 0 is exit 2 naming the option and its range (it acted as 1)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla-check-rows-" });
  try {
    // no adapter: a command past its option checks would be exit 3, never run the layer
    const layer = (rows: string) =>
      runCli(
        [
          ...["layer", "--config", "tiny", "--input", `${F}tiny_input_bshd.safetensors`],
          ...["--out", `${dir}/y.safetensors`, "--check-rows", rows],
        ],
        { DENO_WEBGPU_BACKEND: "dx12" },
      );
    const [zero, one] = await Promise.all([layer("0"), layer("1")]);
    assert.equal(zero.code, 2, zero.stdout + zero.stderr);
    assert.match(zero.stderr, /--check-rows <n>.*"0" is not an integer >= 1/);
    assert.doesNotMatch(zero.stderr, /internal error|at .*\.ts:\d+/);
    assert.equal(one.code, 3, one.stdout + one.stderr);
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "run --case-timeout 0 says as its cases start that a hang is not caught",
  ignore: !(await hasAdapter()),
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      const r = await runCli([
        ...["run", "--filter", "preset=tiny;path=absorbed;dtype=f32;sq=1;layout=bshd;b=2;causal=1"],
        ...["--case-timeout", "0", "--repeats", "0", "--out", out],
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^note: --case-timeout 0: no limit; a case that hangs is not caught/m);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
