// Permissions: a missing one gives one line naming the permission and the flag (exit 2), not
// a NotCapable stack trace; the deno.json tasks are narrowed, and the narrowed `harness`
// task is enough for the commands that touch the GPU and write outputs.
import assert from "node:assert/strict";
import { runProgram } from "../cli/program.ts";

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

Deno.test("the run and harness tasks are narrowed: every env, sys, run and net grant a list", () => {
  for (const name of ["run", "harness", "bench"]) {
    const t = tasks[name];
    assert.match(t, /--allow-env=DENO_WEBGPU_BACKEND,[A-Z_,]+ /, name);
    assert.match(t, /--allow-sys=cpus,uid /, name);
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
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
