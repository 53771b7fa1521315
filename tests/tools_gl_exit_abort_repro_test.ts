/**
 * tools/gl_exit_abort_repro.ts: the summary check that separates an exit-time abort from
 * a failed test, the modules it writes, and its command line (a run whose modules touch
 * no GPU, so that it cannot abort and its count is known).
 */
import assert from "node:assert/strict";
import {
  drainModule,
  heapMessageOf,
  reproModule,
  summaryAllPassed,
  workerScripts,
} from "../tools/gl_exit_abort_repro.ts";
import { runTool } from "./helpers_cli.ts";
import { hasCompiler } from "../tools/c_shim.ts";

/** Whether a C compiler is on PATH (the --glvnd-shim run needs one). */
const CC = await hasCompiler();

/** Whether a process of this pid exists (Deno.kill throws NotFound for one that does not). */
function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Runs the tool; its exit code, stdout and stderr. */
function repro(args: string[], env: Record<string, string> = {}) {
  return runTool("gl_exit_abort_repro.ts", args, env);
}

Deno.test("summaryAllPassed reads deno test's summary, coloured or not", () => {
  assert.ok(summaryAllPassed("ok | 60 passed | 0 failed (19s)\n"));
  assert.ok(
    summaryAllPassed(
      "\x1b[0m\x1b[32mok\x1b[0m | 40 passed | 0 failed \x1b[0m\x1b[38;5;245m(22s)\n",
    ),
  );
  assert.ok(summaryAllPassed("ok | 3 passed (2 steps) | 0 failed (1s)"));
  assert.ok(!summaryAllPassed("FAILED | 59 passed | 1 failed (19s)"));
  assert.ok(!summaryAllPassed("ok | 60 passed | 10 failed"));
  assert.ok(!summaryAllPassed("corrupted size vs. prev_size in fastbins"));
});

Deno.test("heapMessageOf finds glibc's heap-check line, and nothing in a clean output", () => {
  assert.equal(
    heapMessageOf("ok | 60 passed | 0 failed (19s)\n\ncorrupted size vs. prev_size in fastbins\n"),
    "corrupted size vs. prev_size in fastbins",
  );
  assert.equal(heapMessageOf("free(): invalid pointer\n"), "free(): invalid pointer");
  for (
    const m of [
      "malloc_consolidate(): invalid chunk size",
      "munmap_chunk(): invalid pointer",
      "double free or corruption (out)",
      "tcache_thread_shutdown(): unaligned tcache chunk detected",
      "corrupted double-linked list",
    ]
  ) assert.equal(heapMessageOf(`ok | 2 passed | 0 failed (1s)\n\n${m}\n`), m);
  assert.equal(heapMessageOf("ok | 60 passed | 0 failed (19s)\n"), null);
  assert.equal(heapMessageOf('Deno.test("free() of a buffer") ... ok\n'), null);
});

Deno.test("reproModule creates a device, an adapter or nothing; drainModule waits", () => {
  const device = reproModule(3, "device");
  assert.match(device, /requestAdapter\(\)/);
  assert.match(device, /requestDevice\(\)/);
  assert.match(device, /Deno\.test\("module 3"/);
  const adapter = reproModule(1, "adapter");
  assert.match(adapter, /requestAdapter\(\)/);
  assert.doesNotMatch(adapter, /requestDevice/);
  assert.doesNotMatch(reproModule(1, "none"), /navigator\.gpu/);
  assert.match(drainModule(1.5), /setTimeout\(resolve, 1500\)/);
  const five = reproModule(1, "device", 5);
  assert.equal(five.match(/requestDevice\(\)/g)?.length, 5);
  assert.match(five, /const device5 = await adapter5\.requestDevice\(\);\ndevice5\.destroy\(\);/);
  const w = workerScripts("device", 7);
  assert.match(w.main, /i < 7/);
  assert.match(w.main, /new Worker\(new URL\("\.\/worker\.ts"/);
  assert.match(w.worker, /requestDevice\(\)[\s\S]*postMessage\("done"\)/);
});

Deno.test("gl_exit_abort_repro runs each shape and counts the runs (none can abort without a GPU touch)", async () => {
  // The runs are counted by one loop whatever the shape: two runs for the first shape, one
  // for the others (each run is a deno test or deno run of its own, about 1.5 s here).
  for (const [shape, runs] of [["modules", 2], ["one-module", 1], ["workers", 1]] as const) {
    const r = await repro([
      "--count",
      "2",
      "--runs",
      `${runs}`,
      "--touch",
      "none",
      "--shape",
      shape,
    ]);
    const out = r.stdout;
    assert.equal(r.code, 0, out + r.stderr);
    const lines = out.trim().split("\n");
    assert.equal(lines.length, runs + 1, out);
    for (let i = 0; i < runs; i++) {
      assert.match(
        lines[i],
        new RegExp(`^run ${i + 1}/${runs}: exit 0, all passed, \\d+\\.\\d s$`),
        shape,
      );
    }
    assert.equal(
      lines[runs],
      `aborted 0 of ${runs} runs (shape ${shape}, count 2, touch none, drain 0 s, Vulkan hidden)`,
    );
  }
});

Deno.test("gl_exit_abort_repro refuses a bad argument with exit 2, naming it", async () => {
  for (
    const [args, msg] of [
      [["--runs", "0"], /--runs must be a positive integer, got "0"/],
      [["--count", "x"], /--count must be a positive integer, got "x"/],
      [["--shape", "threads"], /--shape must be modules, one-module or workers, got "threads"/],
      [["--touch", "gpu"], /--touch must be device, adapter or none, got "gpu"/],
      [["--drain=-1"], /--drain must be a number of seconds >= 0, got "-1"/],
      [["--load", "65"], /--load must be a number of processes from 0 to 64, got "65"/],
      [["--load", "two"], /--load must be a number of processes from 0 to 64, got "two"/],
      [["--bogus"], /Unknown option '--bogus'/],
    ] as const
  ) {
    const r = await repro([...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, msg);
  }
});

Deno.test("gl_exit_abort_repro --load keeps N spinning processes during the runs and ends them", async () => {
  const r = await repro(["--count", "1", "--runs", "1", "--touch", "none", "--load", "2"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const m = r.stdout.match(/^load: 2 spinning processes \(pids (\d+), (\d+)\)$/m);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /, Vulkan hidden, load 2\)\n$/);
  for (const pid of [Number(m[1]), Number(m[2])]) {
    assert.ok(!alive(pid), `load process ${pid} outlived the tool`);
  }
  assert.ok(alive(Deno.pid)); // the check itself can say "alive"
});

Deno.test("gl_exit_abort_repro --glvnd-shim without a C compiler: exit 3 naming cc", async () => {
  const r = await repro(["--glvnd-shim", "--runs", "1"], { PATH: "/nonexistent" });
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /--glvnd-shim needs a C compiler: "cc" is not on PATH/);
  assert.equal(r.stdout, "", "no run may start without the shim");
});

Deno.test({
  name:
    `gl_exit_abort_repro --glvnd-shim is active in each run that loads libEGL, in none that does not${
      CC ? "" : " [ignored here: no cc on PATH]"
    }`,
  ignore: !CC,
  fn: async () => {
    // touch adapter: wgpu's GL backend opens libEGL.so.1, whose keys the shim changes (a
    // DENO_WEBGPU_BACKEND from outside is dropped with the Vulkan driver, or GL never ran)
    const gl = await repro(
      // one module a run: the shim is counted per run (two runs: "in each run")
      ["--glvnd-shim", "--count", "1", "--runs", "2", "--touch", "adapter"],
      { DENO_WEBGPU_BACKEND: "vulkan" },
    );
    assert.equal(gl.code, 0, gl.stdout + gl.stderr);
    assert.match(gl.stdout, /, glvnd shim active in 2 of 2 runs\)\n$/);
    // touch none: nothing loads libEGL, so the count can say 0
    const none = await repro(["--glvnd-shim", "--count", "1", "--runs", "1", "--touch", "none"]);
    assert.equal(none.code, 0, none.stdout + none.stderr);
    assert.match(none.stdout, /, glvnd shim active in 0 of 1 runs\)\n$/);
  },
});

// Stopped by SIGTERM (a timeout's) or Ctrl-C it left its temp folder of generated test modules
// (60 files at --count 60) and its deno test process running; it removes both now, exit 143.
Deno.test("SIGTERM: the temp folder of test modules is removed, exit 143 (it was left behind)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla-repro-term-" });
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../tools/gl_exit_abort_repro.ts", import.meta.url).pathname,
        "--count",
        "3",
        "--runs",
        "50",
        "--drain",
        "30",
      ],
      env: { TMPDIR: tmp, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // until the folder holds the drain module (the run's deno test is about to start)
    let folder: string | undefined;
    while (folder === undefined) {
      for (const e of Deno.readDirSync(tmp)) {
        if (
          e.name.startsWith("gl_exit_repro_") && [...Deno.readDirSync(`${tmp}/${e.name}`)].some(
            (f) => f.name === "zz_drain_test.ts",
          )
        ) folder = `${tmp}/${e.name}`;
      }
      if (folder === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGTERM");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 143, stderr);
    assert.match(stderr, /stopped by SIGTERM; its temp folder .* removed/);
    assert.deepEqual([...Deno.readDirSync(tmp)].map((e) => e.name), [], "nothing left in TMPDIR");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
