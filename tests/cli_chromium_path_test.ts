// `--chromium <path>` (or CHROME_PATH) naming a file that is not executable is exit 2 naming
// the path and saying so, before any launch (it was exit 3 with the shell's "Permission
// denied" as the browser's stderr).
import assert from "node:assert/strict";
import {
  ChromiumNotFoundError,
  ChromiumPathError,
  DEBIAN_CHROMIUM_PATH,
  findChromium,
  namedChromium,
  systemChromiumProbe,
} from "../browser/chromium.ts";
import { runCli } from "./helpers_cli.ts";
import { runHarness } from "./browser_helpers.ts";

Deno.test("findChromium: a named file that is not executable is a ChromiumPathError naming it", () => {
  const probe = (env: Record<string, string>) => ({
    env: (n: string) => env[n],
    isFile: () => true,
    isExecutable: (p: string) => p !== "/opt/plain",
  });
  assert.throws(
    () => findChromium("/opt/plain", probe({})),
    (e: unknown) => {
      assert.ok(e instanceof ChromiumPathError, String(e));
      assert.match(e.message, /^--chromium \/opt\/plain: not executable/);
      return true;
    },
  );
  assert.throws(
    () => findChromium(undefined, probe({ CHROME_PATH: "/opt/plain" })),
    /ChromiumPathError: CHROME_PATH=\/opt\/plain: not executable/,
  );
  assert.equal(findChromium("/opt/chrome", probe({})).path, "/opt/chrome");
  // a missing file is still "no such file" (exit 3, with the install command)
  assert.throws(
    () =>
      findChromium("/no/such", { env: () => undefined, isFile: (p) => p === DEBIAN_CHROMIUM_PATH }),
    ChromiumNotFoundError,
  );
});

Deno.test({
  name: "systemChromiumProbe: execute permission decides isExecutable",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/chrome`;
      await Deno.writeTextFile(file, "#!/bin/sh\n");
      await Deno.chmod(file, 0o644);
      const probe = systemChromiumProbe();
      assert.equal(probe.isExecutable?.(file), false);
      await Deno.chmod(file, 0o755);
      assert.equal(probe.isExecutable?.(file), true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "CLI: --chromium naming a file that is not executable exits 2 naming it, before a launch",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/not-a-browser`;
      await Deno.writeTextFile(file, "#!/bin/sh\necho launched\n");
      await Deno.chmod(file, 0o644);
      for (
        const args of [
          ["run", "--runtime", "chromium", "--chromium", file, "--out", `${dir}/out`],
          ["devices", "--runtime", "chromium", "--chromium", file],
        ]
      ) {
        const r = await runCli(args);
        assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
        assert.ok(
          r.stderr.includes(`--chromium ${file}: not executable`),
          `${args[0]}: ${r.stderr}`,
        );
        assert.ok(!/Permission denied|before answering/.test(r.stderr), r.stderr);
        assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
      }
      assert.ok(!(await Deno.stat(`${dir}/out/results.jsonl`).then(() => true, () => false)));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("CLI: --chromium or CHROME_PATH naming a folder exits 2 saying it is a folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const results = await Promise.all([
      runCli(["devices", "--runtime", "chromium", "--chromium", dir]),
      runCli([
        "compare-runtimes",
        "--chromium",
        dir,
        "--out",
        `${dir}/cr`,
        "--filter",
        "preset=tiny",
      ]),
      runCli(["devices", "--runtime", "chromium"], { CHROME_PATH: dir }),
    ]);
    const named = [`--chromium ${dir}`, `--chromium ${dir}`, `CHROME_PATH=${dir}`];
    results.forEach((r, i) => {
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.ok(
        r.stderr.includes(
          `${named[i]}: is a folder, not a file; name the Chromium or Chrome executable`,
        ),
        r.stderr,
      );
      assert.ok(!/no such file|install it/.test(r.stderr), r.stderr);
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    });
    assert.ok(!(await Deno.stat(`${dir}/cr`).then(() => true, () => false)), "no --out made");
    // the library: a ChromiumPathError (exit 2), not ChromiumNotFoundError (exit 3)
    assert.throws(
      () => findChromium(dir, systemChromiumProbe()),
      (e: unknown) => e instanceof ChromiumPathError && /is a folder/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A --chromium / CHROME_PATH naming a program that is not Chromium failed with its stderr, or
// "did not answer in 30000 ms", naming neither the flag or variable nor what it must be.
Deno.test("namedChromium: the flag, the variable, or the default", () => {
  assert.equal(namedChromium({ path: "/bin/ls", source: "flag" }), "--chromium /bin/ls");
  assert.equal(namedChromium({ path: "/bin/ls", source: "env" }), "CHROME_PATH=/bin/ls");
  assert.match(
    namedChromium({ path: DEBIAN_CHROMIUM_PATH, source: "default" }),
    /\(the default: no --chromium, CHROME_PATH unset\)$/,
  );
});

Deno.test({
  name: "CLI: --chromium or CHROME_PATH naming a program that is not Chromium exits 3 naming it",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    // a program that starts and never answers: killed after the (2 s) launch limit
    const sleeper = `${dir}/sleeper`;
    await Deno.writeTextFile(sleeper, "#!/bin/sh\nexec sleep 7391\n");
    await Deno.chmod(sleeper, 0o755);
    try {
      const [ls, sleeping, compared] = await Promise.all([
        runHarness(["devices", "--runtime", "chromium", "--chromium", "/bin/ls"]),
        runHarness(["devices", "--runtime", "chromium"], {
          CHROME_PATH: sleeper,
          MLA_HARNESS_CHROMIUM_TIMEOUT: "2",
        }),
        // compare-runtimes named a CHROME_PATH that did not start "--chromium <path>", and
        // said the flag (not given) must name a Chromium
        runHarness(
          ["compare-runtimes", "--filter", "preset=tiny;sq=1", "--out", `${dir}/cr`],
          { CHROME_PATH: "/bin/ls" },
        ),
      ]);
      assert.equal(compared.code, 3, compared.stdout + compared.stderr);
      assert.match(
        compared.stderr,
        /^error: CHROME_PATH=\/bin\/ls: did not start as Chromium: it exited \(code 2\)/m,
      );
      assert.match(compared.stderr, /; CHROME_PATH must name a Chromium or Chrome executable/);
      assert.doesNotMatch(compared.stderr, /--chromium/);
      assert.equal(ls.code, 3, ls.stderr);
      assert.match(
        ls.stderr,
        /^error: --chromium \/bin\/ls: did not start as Chromium: it exited \(code 2\) before answering the DevTools protocol; its stderr: .*unrecognized option/,
      );
      assert.match(
        ls.stderr,
        /; --chromium must name a Chromium or Chrome executable .*chromium-headless-shell/,
      );
      assert.equal(sleeping.code, 3, sleeping.stderr);
      assert.ok(
        sleeping.stderr.includes(
          `error: CHROME_PATH=${sleeper}: did not start as Chromium: no answer over the ` +
            "DevTools protocol within 2 s (it was killed)",
        ),
        sleeping.stderr,
      );
      assert.match(sleeping.stderr, /; CHROME_PATH must name a Chromium or Chrome executable/);
      assert.match(sleeping.stderr, /fix it, or unset it for the default/);
      for (const r of [ls, sleeping, compared]) {
        assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
      }
      // the program was killed with its launching shell, not left sleeping
      const ps = new Deno.Command("sh", {
        args: ["-c", 'for f in /proc/[0-9]*/cmdline; do tr "\\0" " " < $f; echo; done'],
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      assert.ok(!new TextDecoder().decode(ps.stdout).includes("sleep 7391"), "sleeper left");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
