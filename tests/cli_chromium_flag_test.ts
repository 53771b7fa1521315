/**
 * `--chromium <path>` is only read with `--runtime chromium`: given on a command that runs
 * on Deno's WebGPU it is exit 2 naming both flags, before anything runs; compare-runtimes,
 * which always starts Chromium, takes it alone.
 */
import assert from "node:assert/strict";
import { checkChromiumFlag, useChromiumStoppable } from "../cli/runtime_options.ts";
import { CliError } from "../cli/errors.ts";
import { runCli } from "./helpers_cli.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import { hasAdapter } from "../gpu/device.ts";
import { stopExitCode } from "../util/stop_signals.ts";

const gpu = await hasAdapter();

Deno.test("checkChromiumFlag: refuses --chromium unless --runtime chromium; no --runtime passes", () => {
  checkChromiumFlag("run", { runtime: "chromium", chromium: "/opt/c" });
  checkChromiumFlag("run", { runtime: "deno" });
  checkChromiumFlag("compare-runtimes", { chromium: "/opt/c" });
  assert.throws(
    () => checkChromiumFlag("devices", { runtime: "deno", chromium: "/opt/c" }),
    (e: unknown) =>
      e instanceof CliError && e.exitCode === 2 &&
      /devices: --chromium \/opt\/c is only read with --runtime chromium/.test(e.message),
  );
});

Deno.test("useChromiumStoppable: a stop signal after start-up is said, the browser closed once, exit 143", async () => {
  // devices --measure and compile --runtime chromium exited 130 with no word on a Ctrl-C once
  // Chromium had started (only its start-up said it). SIGTERM here: deno test takes SIGINT.
  const lines: string[] = [];
  let code: number | undefined;
  let closes = 0;
  const got = await useChromiumStoppable(
    { close: () => Promise.resolve(void closes++) },
    "while Chromium compiled: not every result was printed",
    async () => {
      Deno.kill(Deno.pid, "SIGTERM");
      while (code === undefined) await new Promise((r) => setTimeout(r, 10));
      return "used";
    },
    { log: (l) => lines.push(l), exit: (c) => void (code = c) },
  );
  assert.equal(got, "used");
  assert.equal(code, 143);
  assert.deepEqual(lines, [
    "interrupted by SIGTERM while Chromium compiled: not every result was printed",
  ]);
  assert.equal(closes, 1);
  // without a signal: closed once after use, nothing said
  const quiet: string[] = [];
  await useChromiumStoppable(
    { close: () => Promise.resolve(void closes++) },
    "x",
    () => Promise.resolve(1),
    { log: (l) => quiet.push(l) },
  );
  assert.equal(closes, 2);
  assert.deepEqual(quiet, []);
});

Deno.test("CLI: --chromium without --runtime chromium is exit 2 naming both flags", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runs = [
      ["devices", "--chromium", "/nonexistent/chromium"],
      ["run", "--chromium", "/nonexistent/chromium", "--out", `${dir}/run`],
      ["run", "--runtime", "deno", "--chromium", "/nonexistent/chromium", "--out", `${dir}/r2`],
      ["compile", "--chromium", "/nonexistent/chromium"],
      ["bench", "--matrix", "tiny", "--chromium", "/nonexistent/chromium"],
      [
        "layer",
        ...["--config", "tiny", "--input", `${dir}/in.safetensors`, "--out", `${dir}/o`],
        ...["--chromium", "/nonexistent/chromium"],
      ],
    ];
    const results = await Promise.all(runs.map((a) => runCli(a)));
    results.forEach((r, i) => {
      const cmd = runs[i][0];
      assert.equal(r.code, 2, `${runs[i].join(" ")}: ${r.stdout}${r.stderr}`);
      assert.ok(
        r.stderr.includes(
          `${cmd}: --chromium /nonexistent/chromium is only read with --runtime chromium`,
        ),
        `${runs[i].join(" ")}: ${r.stderr}`,
      );
      assert.match(r.stderr, /add --runtime chromium, or drop --chromium/);
    });
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "nothing written");
    // compare-runtimes always runs Chromium: --chromium alone is read (a missing one: exit 3).
    const cr = await runCli([
      "compare-runtimes",
      "--chromium",
      "/nonexistent/chromium",
      "--out",
      `${dir}/cr`,
    ]);
    assert.equal(cr.code, 3, cr.stdout + cr.stderr);
    assert.doesNotMatch(cr.stderr, /only read with --runtime chromium/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * `args` (a command with --runtime chromium) into an --out another process holds: exit 2
 * naming the lock's holder, and the browser (a fake that leaves a marker) never started.
 */
async function refusedBeforeBrowser(args: readonly string[]): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mla-lock-browser-" });
  try {
    const out = `${dir}/out`;
    await Deno.mkdir(out);
    const started = `${dir}/started`;
    const fake = `${dir}/chrome`;
    await Deno.writeTextFile(fake, `#!/bin/sh\ntouch '${started}'\nexit 1\n`);
    await Deno.chmod(fake, 0o755);
    const lock = await lockOutDir(out);
    try {
      const r = await runCli([...args, "--runtime", "chromium", "--chromium", fake, "--out", out]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`is being written by another run \\(process ${Deno.pid},`));
      assert.equal(
        await Deno.stat(started).then(() => true, () => false),
        false,
        "the browser was started",
      );
    } finally {
      await lock.release();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("CLI: run --runtime chromium into a folder another run writes is exit 2 before any browser starts", async () => {
  // it started the browser (and its WebGPU device) first, then was refused by run.lock
  await refusedBeforeBrowser([
    ...["run", "--filter", "preset=tiny;path=absorbed;dtype=f32;sq=1;b=2;layout=bshd"],
  ]);
});

Deno.test("CLI: bench --runtime chromium into a folder another bench writes is exit 2 before any browser starts", async () => {
  // as run's: bench started the browser first, then was refused by run.lock
  await refusedBeforeBrowser(["bench", "--matrix", "tiny"]);
});

for (
  const [signal, command] of [
    ["SIGINT", "run"],
    ["SIGTERM", "run"],
    ["SIGINT", "compare-runtimes"],
    ["SIGINT", "bench"],
    ["SIGINT", "devices"],
    ["SIGTERM", "compile"],
    // a terminal closed: as SIGTERM, exit 129 (util/stop_signals.ts)
    ["SIGHUP", "run"],
    ["SIGHUP", "devices"],
  ] as const
) {
  // devices and compile have no cases and no folder: they exited 130 / 143 with no word
  const caseless = command === "devices" || command === "compile";
  Deno.test({
    // compare-runtimes starts Deno's device before the browser
    ignore: command === "compare-runtimes" && !gpu,
    name: `CLI: ${signal} while ${command} starts the browser says so, exit ${
      stopExitCode(signal)
    }${caseless ? "" : ", no run.lock left"}`,
    fn: async () => {
      // it exited 130/143 with no word, and its run.lock stayed behind (the next run took it
      // over); the fake browser never answers, so the signal comes during its start
      const dir = await Deno.makeTempDir({ prefix: "mla-run-startup-stop-" });
      try {
        const started = `${dir}/started`;
        const fake = `${dir}/chrome`;
        await Deno.writeTextFile(fake, `#!/bin/sh\ntouch '${started}'\nexec sleep 30\n`);
        await Deno.chmod(fake, 0o755);
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            ...["run", "-A", new URL("../main.ts", import.meta.url).pathname],
            ...(command === "compare-runtimes" ? [command] : [command, "--runtime", "chromium"]),
            ...["--chromium", fake],
            ...(caseless ? [] : ["--out", `${dir}/out`]),
            ...(caseless
              ? []
              : command === "bench"
              ? ["--matrix", "tiny"]
              : ["--filter", "preset=tiny;path=absorbed;dtype=f32;sq=1;b=2;layout=bshd"]),
          ],
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
        try {
          while (!await Deno.stat(started).then(() => true, () => false)) {
            await new Promise((r) => setTimeout(r, 50));
          }
          child.kill(signal);
          const out = await child.output();
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, stopExitCode(signal), stderr);
          assert.match(
            stderr,
            new RegExp(
              `interrupted by ${signal} ${
                command === "devices"
                  ? "while Chromium started: no device was read"
                  : command === "compile"
                  ? "while Chromium started: nothing was compiled"
                  : "during start-up, before any case ran"
              }`,
            ),
          );
          assert.equal(
            await Deno.stat(`${dir}/out/run.lock`).then(() => true, () => false),
            false,
            "run.lock left behind",
          );
        } finally {
          clearTimeout(guard);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
