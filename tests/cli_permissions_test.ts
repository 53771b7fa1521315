// Permissions: a missing one gives one line naming the permission and the flag (exit 2), not
// a NotCapable stack trace; the deno.json tasks are narrowed, and the narrowed `harness`
// task is enough for the commands that touch the GPU and write outputs.
import assert from "node:assert/strict";
import { runProgram } from "../cli/program.ts";
import { prepareOutputDir } from "../report/output_paths.ts";

const root = new URL("../", import.meta.url).pathname;
const tasks: Record<string, string> = JSON.parse(await Deno.readTextFile(`${root}deno.json`)).tasks;

Deno.test("a missing permission is one line naming it and the flag, exit 2", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  let code: number;
  try {
    code = await runProgram(["devices"], {
      probeCaps: () => Promise.resolve(null),
      probeCapsStrict: () =>
        Promise.reject(
          new Deno.errors.NotCapable(
            'Requires env access to "DENO_WEBGPU_BACKEND", run again with the --allow-env flag',
          ),
        ),
    });
  } finally {
    console.error = original;
  }
  assert.equal(code, 2);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(lines[0], /^error: a permission is missing: Requires env access to .*--allow-env/);
  assert.ok(!/\n\s+at /.test(lines[0]), "no stack trace");
});

Deno.test("a missing permission leaves no output folder this invocation created and left empty", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla_perm_out_" });
  const original = console.error;
  console.error = () => {};
  try {
    const code = await runProgram(["devices"], {
      probeCaps: () => Promise.resolve(null),
      // as a command that made its --out, then met a permission it lacks
      probeCapsStrict: async () => {
        await prepareOutputDir(`${tmp}/a/out`, { label: "--out" });
        throw new Deno.errors.NotCapable(
          'Requires sys access to "cpus", run again with the --allow-sys flag',
        );
      },
    });
    assert.equal(code, 2);
    await assert.rejects(Deno.stat(`${tmp}/a`), Deno.errors.NotFound);
  } finally {
    console.error = original;
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("bench without --allow-sys is exit 2 naming sys cpus and the flag, before its --out is made", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla_perm_bench_" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--allow-read", "--allow-write", "--allow-env"]
        .concat([`${root}main.ts`, "bench", "--matrix", "tiny", "--filter", "path=absorbed"])
        .concat(["--reps", "1", "--out", `${tmp}/a/out`]),
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 2, err);
    assert.match(err, /^error: bench needs sys access to "cpus".*--allow-sys=cpus/m);
    assert.doesNotMatch(err, /\n\s+at /, "no stack trace");
    await assert.rejects(Deno.stat(`${tmp}/a`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the run and harness tasks are narrowed: every env, sys, run and net grant a list", () => {
  for (const name of ["run", "harness", "bench"]) {
    const t = tasks[name];
    assert.match(t, /--allow-env=DENO_WEBGPU_BACKEND,[A-Z_,]+ /, name);
    assert.match(t, /--allow-sys=cpus,uid,loadavg /, name);
    assert.ok(!/--allow-all|-A /.test(t), name);
    assert.ok(!/--allow-(run|net|env|sys|ffi)(?!=)/.test(t), `${name}: every grant is a list`);
  }
});

Deno.test("the narrowed harness task's flags suffice for run (GPU, outputs, history)", async () => {
  const flags = tasks.harness.replace(/^deno run /, "").replace(/ main\.ts$/, "").split(" ");
  const out = await Deno.makeTempDir({ prefix: "mla_perm_test_" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...flags, `${root}main.ts`, "run", "--filter"]
        .concat(["preset=tiny;dtype=f32;layout=bshd;sq=1;path=absorbed;causal=1", "--repeats"])
        .concat(["0", "--out", `${out}/run`, "--history", `${out}/h.sqlite`]),
      cwd: root,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assert.ok(!/Requires .* access|NotCapable|permission is missing/.test(text), text);
    // 0 with an adapter; 3 (no adapter, with the fix) on a machine without one
    assert.ok(r.code === 0 || r.code === 3, text);
    if (r.code === 0 && Deno.build.os !== "windows") {
      // the task grants sys loadavg: the run recorded the host's load beside its timings
      // (without it: "no sys permission", and no compare could say a side was timed busy)
      const report = JSON.parse(await Deno.readTextFile(`${out}/run/report.json`));
      assert.equal(report.hostLoad?.unavailable, undefined, JSON.stringify(report.hostLoad));
      assert.ok(report.hostLoad.start.cpus >= 1 && report.hostLoad.end.load1 >= 0);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
