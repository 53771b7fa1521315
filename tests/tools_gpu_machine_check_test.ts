/**
 * tools/gpu_machine_check.sh, the script a lent GPU machine runs once (its device time is
 * minutes, so a mistake costs the run): it parses as bash, its steps run in the order of its
 * default STEPS, and the deliverables come first (the bench, then the smoke matrix that makes
 * the device's baseline), before the SPIR-V audit and the A/Bs whose timeouts could leave the
 * smoke too little of TOTAL_S (session 35).
 */
import assert from "node:assert/strict";

const SCRIPT = new URL("../tools/gpu_machine_check.sh", import.meta.url).pathname;

Deno.test("gpu_machine_check.sh: parses as bash; steps run in the default STEPS' order, bench and smoke before every A/B", async () => {
  const syntax = await new Deno.Command("bash", { args: ["-n", SCRIPT], stderr: "piped" }).output();
  assert.equal(syntax.code, 0, new TextDecoder().decode(syntax.stderr));
  const text = await Deno.readTextFile(SCRIPT);
  const defaults = /^STEPS=\$\{STEPS:-([a-z ]+)\}$/m.exec(text);
  assert.ok(defaults, "a default STEPS line");
  const steps = defaults[1].split(" ");
  assert.deepEqual(steps.slice(0, 3), ["devices", "bench", "smoke"]);
  // The blocks, in file order: each `if wanted X` (or `wanted X || wanted Y`) opens one.
  const blocks = [...text.matchAll(/^if wanted (\w+)/gm)].map((m) => m[1]);
  // every default step has its block, in the same order (a block may repeat: ab's second)
  const firsts = blocks.filter((b, i) => blocks.indexOf(b) === i);
  assert.deepEqual(firsts.filter((b) => steps.includes(b)), steps);
  // a block outside the defaults is one the header says is not a default step (tune)
  const extra = firsts.filter((b) => !steps.includes(b));
  assert.deepEqual(extra, ["tune"]);
  for (const b of extra) {
    assert.match(text, new RegExp(`^#   ${b} +\\(not a default step`, "m"), b);
  }
  // the tuner's file is read into the log, not a 9th file of $OUT
  assert.match(text, /tee -a "\$LOG" <"\$WORK\/tuning\.json"/);
  // STEPS=plans runs the plan A/Bs alone
  assert.match(text, /^if wanted ab \|\| wanted plans; then$/m);
  // $OUT holds what comes back (8 files at most: the smoke's 3, the bench's 2, devices.json,
  // log.txt, steps.txt): the splits run's summary goes into the log, not a 9th file
  assert.doesNotMatch(text, /\$OUT\/splits/);
  assert.match(text, /tee -a "\$LOG" <"\$WORK\/splits\/summary\.md"/);
  // the header says the same order
  assert.ok(text.includes(`default "${steps.join(" ")}"`), "the header names the default");
});

Deno.test("gpu_machine_check.sh: --help prints its header and an argument or an unknown STEPS name is refused, nothing run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpu_machine_check_" });
  try {
    const run = async (args: string[], env: Record<string, string> = {}) => {
      // TOTAL_S=1 and SKIP_GL=1: had it started after all, every step would be skipped
      const r = await new Deno.Command("bash", {
        args: [SCRIPT, ...args],
        env: { OUT: `${dir}/out`, WORK: `${dir}/work`, TOTAL_S: "1", SKIP_GL: "1", ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const d = new TextDecoder();
      return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
    };
    const help = await run(["--help"]);
    assert.equal(help.code, 0, help.err);
    assert.match(help.out, /^gpu_machine_check\.sh: the script run on a lent GPU machine/);
    assert.match(help.out, /\nKnobs \(environment\): STEPS, TOTAL_S/);
    const arg = await run(["bench"]);
    assert.equal(arg.code, 2, arg.out);
    assert.match(
      arg.err,
      /^gpu_machine_check: takes no arguments \(got: bench\); pick the steps with STEPS=/,
    );
    const typo = await run([], { STEPS: "devices benh" });
    assert.equal(typo.code, 2, typo.out);
    assert.match(
      typo.err,
      /^gpu_machine_check: STEPS: unknown step "benh" \(known: devices bench /,
    );
    for (const r of [help, arg, typo]) assert.doesNotMatch(r.out, /steps: /, "no run started");
    assert.equal(
      await Deno.stat(`${dir}/out`).then(() => true, () => false),
      false,
      "no $OUT made",
    );
    // every step the script has a block for is a known name
    const text = await Deno.readTextFile(SCRIPT);
    const known = /^KNOWN_STEPS="([a-z ]+)"$/m.exec(text)![1].split(" ");
    for (const m of text.matchAll(/^if wanted (\w+)(?: \|\| wanted (\w+))?/gm)) {
      for (const b of [m[1], m[2]].filter(Boolean)) assert.ok(known.includes(b!), b);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
