// No browser outlives the harness: a `run --runtime chromium` is stopped mid-run by
// SIGINT, SIGTERM or SIGKILL, and afterwards none of the processes it started (the
// browser, its zygotes, GPU and renderer processes) is alive. SIGKILL cannot be caught: the
// browser ends because its debugging pipe, held only by the harness, closes.
import assert from "node:assert/strict";
import { type Chromium, launchChromium } from "../browser/chromium.ts";
import {
  browserTestName,
  chromiumMissing,
  commandLine,
  descendants,
  spawnHarness,
  stillAlive,
} from "./browser_helpers.ts";

const ignore = chromiumMissing() !== null || Deno.build.os !== "linux";

/** Resolves with the text once `pattern` appears on the stream; drains it afterwards. */
function waitFor(stream: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    (async () => {
      const dec = new TextDecoder();
      let text = "";
      let found = false;
      for await (const chunk of stream) {
        text += dec.decode(chunk, { stream: true });
        if (!found && pattern.test(text)) {
          found = true;
          resolve(text);
        }
      }
      if (!found) reject(new Error(`the harness ended without printing ${pattern}:\n${text}`));
    })().catch(reject);
  });
}

async function gone(pids: number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let alive = stillAlive(pids);
  while (alive.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    alive = stillAlive(pids);
  }
  return alive;
}

Deno.test({
  name: browserTestName("compile --runtime chromium stopped by SIGINT after start-up says so"),
  ignore,
  fn: async () => {
    // it exited 130 with no word once Chromium had started (only its start-up said it)
    const child = spawnHarness(["compile", "--runtime", "chromium"]);
    const stderr = new Response(child.stderr).text();
    // the runtime line comes after start-up, before the compile (a second or more)
    await waitFor(child.stdout, /^runtime: chromium/m);
    const started = descendants(child.pid);
    child.kill("SIGINT");
    const status = await child.status;
    const err = await stderr;
    assert.equal(status.code, 130, err);
    assert.match(
      err,
      /^interrupted by SIGINT while Chromium compiled: not every result was printed$/m,
    );
    assert.deepEqual(await gone(started, 10000), [], "processes left after SIGINT");
  },
});

for (
  const [signal, expected] of [
    ["SIGINT", { code: 130 }],
    ["SIGTERM", { code: 143 }],
    ["SIGKILL", { signal: "SIGKILL" }],
  ] as const
) {
  Deno.test({
    name: browserTestName(`${signal} of the harness mid-run leaves no Chromium process`),
    ignore,
    fn: async () => {
      const out = await Deno.makeTempDir({ prefix: "mla-lifetime-" });
      try {
        const child = spawnHarness([
          "run",
          "--runtime",
          "chromium",
          "--matrix",
          "smoke",
          "--filter",
          "preset=tiny;dtype=f32",
          "--repeats",
          "3",
          "--out",
          out,
        ]);
        const stderr = new Response(child.stderr).text();
        // running cases: the browser is up and busy
        await waitFor(child.stdout, /\[2\/\d+\]/);
        const started = descendants(child.pid);
        const browser = started.filter((p) => commandLine(p).includes("chromium"));
        assert.ok(browser.length >= 2, `expected Chromium processes, found ${started.length}`);
        child.kill(signal);
        const status = await child.status;
        if ("code" in expected) {
          assert.equal(status.code, expected.code, await stderr);
        } else {
          assert.equal(status.signal, expected.signal);
        }
        const left = await gone(started, 10000);
        assert.deepEqual(
          left.map((p) => `${p}: ${commandLine(p).slice(0, 100)}`),
          [],
          `processes left after ${signal}`,
        );
        // the temporary profile is gone too (removed by the launching shell after Chromium)
        const tmp = Deno.env.get("TMPDIR") || "/tmp";
        const profiles = [...Deno.readDirSync(tmp)]
          .filter((e) => e.name.startsWith(`mla-harness-chromium-${child.pid}-`));
        assert.deepEqual(profiles.map((e) => e.name), [], "profile folders left");
      } finally {
        await Deno.remove(out, { recursive: true }).catch(() => {});
      }
    },
  });
}

Deno.test({
  name: browserTestName(
    "compare-runtimes: a failure after Chromium's start and before the comparison closes it",
  ),
  ignore,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "mla-lifetime-" });
    try {
      // compare-runtimes.jsonl cannot be created (a full disk) once both runtimes have
      // started: the command fails, and the browser was left running (its profile kept)
      // until the process exited
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./fixtures/open_refused_main.ts", import.meta.url).pathname,
          "compare-runtimes",
          "--filter",
          "preset=tiny;dtype=f32;sq=1;layout=bshd;causal=1;path=absorbed",
          "--out",
          out,
        ],
        env: { NO_COLOR: "1", MLA_TEST_REFUSED_FILE: "compare-runtimes.jsonl" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 3, stderr);
      // it named no file: "error: the disk (or a quota) is full; free space and run ..."
      assert.match(
        stderr,
        /^error: \S+\/compare-runtimes\.jsonl: the disk \(or a quota\) is full; free space/m,
      );
      assert.match(new TextDecoder().decode(r.stdout), /runtime: chromium/, "Chromium started");
      assert.match(stderr, /^profiles left: \[\]$/m, "the browser was closed");
    } finally {
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: browserTestName("SIGTERM while the page is bundled leaves no bundle folder"),
  ignore,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "mla-lifetime-tmp-" });
    try {
      // the page was bundled into <TMPDIR>/mla-harness-bundle-*/out.js (1.1 MB), which a
      // Ctrl-C or SIGTERM during start-up left behind
      const child = spawnHarness(["devices", "--runtime", "chromium"], { TMPDIR: tmp });
      const output = child.output();
      let bundling = false;
      for (let i = 0; i < 3000 && !bundling; i++) {
        bundling = descendants(child.pid).some((p) => / bundle /.test(commandLine(p)));
        if (!bundling) await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(bundling, "deno bundle never started");
      child.kill("SIGTERM");
      const status = await output;
      assert.notEqual(status.code, 0);
      const left = [...Deno.readDirSync(tmp)].map((e) => e.name)
        .filter((n) => n.startsWith("mla-harness-bundle-"));
      assert.deepEqual(left, [], "bundle folders left");
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "a harness stopped while a program that never answers starts ends it and its profile",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "mla-lifetime-tmp-" });
    try {
      // hung before the DevTools protocol (or not Chromium): it never reads the debugging
      // pipe, so it saw no EOF when the harness died, and it and its launching shell lived
      // on, the profile kept
      const fake = `${tmp}/chromium-hangs`;
      const mark = `sleep ${40000 + Math.floor(Math.random() * 9999)}`;
      await Deno.writeTextFile(fake, `#!/bin/sh\nexec ${mark}\n`);
      await Deno.chmod(fake, 0o755);
      const child = spawnHarness(["devices", "--runtime", "chromium", "--chromium", fake], {
        TMPDIR: tmp,
      });
      const output = child.output();
      let hung: number[] = [];
      for (let i = 0; i < 3000 && hung.length === 0; i++) {
        hung = descendants(child.pid).filter((p) => commandLine(p) === mark);
        if (hung.length === 0) await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(hung.length, 1, "the program never started");
      const launched = descendants(child.pid);
      child.kill("SIGTERM");
      assert.equal((await output).code, 143);
      const left = await gone(launched, 10000);
      assert.deepEqual(left.map((p) => `${p}: ${commandLine(p).slice(0, 80)}`), []);
      const profiles = [...Deno.readDirSync(tmp)].map((e) => e.name)
        .filter((n) => n.startsWith("mla-harness-chromium-"));
      assert.deepEqual(profiles, [], "profile folders left");
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "the launching shell's watchdog ends once the shell is gone (killed)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "mla-lifetime-tmp-" });
    const mark = `sleep ${50000 + Math.floor(Math.random() * 9999)}`;
    let sleeper: number[] = [];
    let browser: Chromium | undefined;
    try {
      // answers Browser.getVersion, then sleeps: a browser whose shell close() kills after 5 s
      const fake = `${tmp}/chromium-sleeps`;
      await Deno.writeTextFile(
        fake,
        "#!/bin/sh\n" +
          `printf '%s\\000' '{"id":1,"result":{"product":"HeadlessChrome/0-test"}}' >&4\n` +
          `exec ${mark}\n`,
      );
      await Deno.chmod(fake, 0o755);
      browser = await launchChromium(fake);
      const shell = browser.pid;
      const script = commandLine(shell);
      const below = descendants(shell);
      sleeper = below.filter((p) => commandLine(p) === mark);
      const watchdog = below.filter((p) => commandLine(p) === script);
      assert.equal(watchdog.length, 1, "one watchdog beside the browser");
      Deno.kill(shell, "SIGKILL");
      // it polled for the harness only: with the shell gone it lived on, and at the harness's
      // end signalled the shell's pid, which another process may have by then
      assert.deepEqual(await gone(watchdog, 10000), [], "the watchdog outlived its shell");
    } finally {
      for (const p of stillAlive(sleeper)) Deno.kill(p, "SIGKILL");
      // removes its profile (the shell that would have is gone)
      await browser?.close();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
