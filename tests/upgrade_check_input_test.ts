// upgrade-check's input, refused before any side starts: --matrix and --filter as `run`
// refuses them (exit 2, the same message), an --html naming one of the check's own outputs
// (exit 2 naming both), and npx or git missing from PATH (exit 3 naming the program and
// what it is for, not a stack trace). The CLI runs with PATH set to an empty folder: were a
// check missing, the first side would fail to start npx (or git), not fetch a Deno.
import assert from "node:assert/strict";
import {
  denoVersionSides,
  DriftInputError,
  type GitRunner,
  nearestVersions,
  precheckUpgradeSelection,
  upgradeCheck,
  upgradeMode,
  upgradePrograms,
} from "../drift/mod.ts";
import { type CliResult, runCli } from "./helpers_cli.ts";
import { runProgram } from "../cli/program.ts";
import { upgradeCheckCommand } from "../cli/upgrade_check.ts";
import { pathExists } from "../util/fs.ts";
import { caseResult, lavapipeFingerprint, reportOf } from "./drift_helpers.ts";

const A = "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1";

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A test with its own temporary folder (and an empty one for PATH), removed when it passes. */
function tmpTest(name: string, fn: (dir: string, emptyPath: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "mla-upgrade-input-" });
    await Deno.mkdir(`${dir}/empty-path`);
    await fn(dir, `${dir}/empty-path`);
    await Deno.remove(dir, { recursive: true });
  });
}

/** `deno run -A main.ts upgrade-check ...args` with PATH an empty folder. */
const upgradeNoPath = (emptyPath: string, args: string[]) =>
  runCli(["upgrade-check", ...args], { PATH: emptyPath }, { all: true });

/** The one `error:` line (and those indented under it) of a CLI's stderr. */
function errorOf(r: CliResult): string {
  const lines = r.stderr.split("\n");
  const i = lines.findIndex((l) => l.startsWith("error: "));
  assert.ok(i >= 0, r.stderr);
  const rest = lines.slice(i + 1);
  const end = rest.findIndex((l) => !l.startsWith(" "));
  return [lines[i], ...rest.slice(0, end < 0 ? rest.length : end)].join("\n");
}

function assertNoTrace(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, "no stack trace");
}

tmpTest(
  "upgrade-check --matrix/--filter: exit 2 with run's message, before any side",
  async (dir, empty) => {
    const cases: string[][] = [
      ["--filter", "preset=no-such-preset"],
      ["--filter", "presettiny"],
      ["--matrix", `${dir}/no-such-matrix.json`],
    ];
    for (const bad of cases) {
      const up = await upgradeNoPath(empty, [
        "--from",
        "2.9.5",
        "--to",
        "2.9.6",
        "--out",
        `${dir}/up`,
        ...bad,
      ]);
      assert.equal(up.code, 2, up.stdout + up.stderr);
      assertNoTrace(up);
      const run = await runCli(["run", "--out", `${dir}/run`, ...bad]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.equal(errorOf(up), errorOf(run), `${bad.join(" ")}: upgrade-check says what run says`);
    }
    // the chromium side runs this checkout too
    const chromium = await upgradeNoPath(empty, [
      "--from",
      "2.9.5",
      "--to",
      "chromium",
      "--filter",
      "dtype=f64",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(chromium.code, 2, chromium.stderr);
    assert.match(chromium.stderr, /filter value dtype=f64/);
    // nothing made: no output folder left behind
    await assert.rejects(() => Deno.stat(`${dir}/up`), Deno.errors.NotFound);
  },
);

tmpTest(
  "upgrade-check with a Chromium side: a --backend-module by URL is exit 2 before any side, as run --runtime chromium refuses it",
  async (dir, empty) => {
    const up = await upgradeNoPath(empty, [
      "--from",
      "2.9.5",
      "--to",
      "chromium",
      "--backend-module",
      "https://example.com/m.ts",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(up.code, 2, up.stdout + up.stderr);
    assertNoTrace(up);
    // before, the URL was fetched as for Deno's sides (here: "could not be fetched"; where it
    // loads, the Chromium side's run refused it after the other side had run)
    assert.match(
      errorOf(up),
      /^error: --backend-module https:\/\/example\.com\/m\.ts: upgrade-check --to chromium runs it in Chromium too, so a backend module must be a local file/,
    );
    await assert.rejects(() => Deno.stat(`${dir}/up`), Deno.errors.NotFound);
  },
);

Deno.test("precheckUpgradeSelection: versions are checked here, revisions as far as both agree", async () => {
  await precheckUpgradeSelection({
    from: "2.9.5",
    to: "2.9.6",
    matrix: "smoke",
    filter: "preset=tiny",
  });
  await assert.rejects(
    () => precheckUpgradeSelection({ from: "2.9.5", to: "2.9.6", matrix: "smoke", filter: "x" }),
    RangeError,
  );
  // revisions, with a stand-in git: v1 and v2 exist, v2 bundles a matrix "future", the
  // selection code differs from this checkout's unless `same`
  const calls: string[][] = [];
  const gitStub = (same: boolean): GitRunner => (_cwd, args) => {
    calls.push([...args]);
    const ok = { code: 0, output: "" };
    const no = { code: 1, output: "" };
    const [cmd, ...rest] = args;
    if (cmd === "rev-parse") {
      return Promise.resolve(/^v[12]\^\{commit\}$/.test(rest.at(-1)!) ? ok : no);
    }
    if (cmd === "cat-file") {
      const known = ["matrix/bundled/smoke.json", "matrix/bundled/future.json"];
      const [ref, path] = rest[1].split(":");
      return Promise.resolve(
        known.includes(path) && (ref === "v2" || !path.includes("future")) ? ok : no,
      );
    }
    if (cmd === "ls-tree") {
      return Promise.resolve({
        code: 0,
        output: "matrix/bundled/smoke.json\nmatrix/bundled/nightly.json\n",
      });
    }
    if (cmd === "diff") return Promise.resolve(same ? ok : no);
    if (cmd === "ls-files") return Promise.resolve(ok);
    return Promise.resolve(no);
  };
  const refs = (o: { fromRef?: string; matrix?: string; filter?: string }, same = false) =>
    precheckUpgradeSelection({
      fromRef: o.fromRef ?? "v1",
      toRef: "v2",
      matrix: o.matrix ?? "smoke",
      filter: o.filter,
      git: gitStub(same),
    });
  // another revision may have other axes: a key unknown here is left to its run
  await refs({ filter: "future_axis=1" });
  // ... but not a malformed filter, a missing revision, nor a matrix a revision lacks
  await assert.rejects(() => refs({ filter: "x" }), /filter term "x" must look like key=value/);
  await assert.rejects(() => refs({ filter: "dtype=" }), /filter term "dtype=" has an empty value/);
  await assert.rejects(
    () => refs({ fromRef: "nope" }),
    (e: unknown) =>
      e instanceof DriftInputError && /^--from-ref: "nope" names no commit/.test(e.message),
  );
  await assert.rejects(
    () => refs({ matrix: "future" }),
    (e: unknown) =>
      e instanceof DriftInputError &&
      /--matrix: "future" is at --from-ref v1 neither a bundled matrix \(its bundled matrices: smoke, nightly\) nor a file of that revision/
        .test(e.message),
  );
  // a misspelt bundled name is named with the one it is close to
  await assert.rejects(
    () => refs({ matrix: "nightyl" }),
    /neither a bundled matrix \(did you mean "nightly"\? its bundled matrices: smoke, nightly\)/,
  );
  // where the revisions select with this checkout's code, run's full check answers for them
  await refs({ filter: "prest=x" }, false);
  await assert.rejects(() => refs({ filter: "prest=x" }, true), /filter key "prest" is unknown/);
  await refs({ filter: "preset=tiny" }, true);
  assert.ok(
    calls.some((c) => c[0] === "diff" && c.includes("matrix/")),
    "the matrix/ folder is compared",
  );
});

tmpTest(
  "upgrade-check --from-ref/--to-ref: a bad --matrix, --filter or revision is exit 2 before any worktree",
  async (dir) => {
    const bad: [string[], RegExp][] = [
      [["--matrix", "nosuch"], /--matrix: "nosuch" is at --from-ref HEAD neither a bundled matrix/],
      [["--filter", "preset"], /filter term "preset" must look like key=value/],
      [
        ["--from-ref", "no-such-revision-xyz"],
        /--from-ref: "no-such-revision-xyz" names no commit/,
      ],
      [["--matrix", `${dir}/none.json`], /none\.json: no such file \(both revisions read/],
    ];
    for (const [args, message] of bad) {
      const r = await runCli(
        ["upgrade-check", "--from-ref", "HEAD", "--to-ref", "HEAD", "--out", `${dir}/up`, ...args],
        {},
        { all: true },
      );
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assertNoTrace(r);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /git worktree add/, "no worktree made");
      await assert.rejects(() => Deno.stat(`${dir}/up`), Deno.errors.NotFound);
    }
  },
);

tmpTest(
  "upgrade-check --html naming one of its own outputs: exit 2 naming both",
  async (dir, empty) => {
    const out = `${dir}/up`;
    const up = (...args: string[]) =>
      upgradeNoPath(empty, ["--from", "2.9.5", "--to", "2.9.6", "--out", out, ...args]);
    const refused: [string[], RegExp][] = [
      [["--html", `${out}/compare.md`], /is the file --out \(compare\.md\) writes too/],
      [["--html", `${out}/./compare.json`], /is the file --out \(compare\.json\) writes too/],
      [
        ["--html", `${out}/from/report.json`],
        /is the file --out \(from\/report\.json\) writes too/,
      ],
      [
        ["--rounds", "2", "--html", `${out}/to/round-2/report.html`],
        /is the file --out \(to\/round-2\/report\.html\) writes too/,
      ],
      [["--html", `${out}/to`], /is the folder the to side's run writes in \(--out /],
    ];
    for (const [args, message] of refused) {
      const r = await up(...args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assertNoTrace(r);
      assert.match(r.stderr, new RegExp(`error: --html ${esc(args.at(-1)!)}: `));
      assert.match(r.stderr, message);
    }
    // a compare.md from an earlier check is not overwritten by the refused one
    await Deno.mkdir(out, { recursive: true });
    await Deno.writeTextFile(`${out}/compare.md`, "earlier");
    assert.equal((await up("--html", `${out}/compare.md`)).code, 2);
    assert.equal(await Deno.readTextFile(`${out}/compare.md`), "earlier");
    // --out's compare.json would overwrite the --thresholds it reads
    await Deno.writeTextFile(`${out}/compare.json`, "{}");
    const t = await up("--thresholds", `${out}/compare.json`);
    assert.equal(t.code, 2, t.stderr);
    assert.match(
      t.stderr,
      /--out \(compare\.json\) .*: is .*compare\.json, which --thresholds reads/,
    );
  },
);

tmpTest(
  "upgrade-check without npx or git on PATH: exit 3 naming the program and its use",
  async (dir, empty) => {
    const versions = await upgradeNoPath(empty, [
      "--from",
      "2.9.5",
      "--to",
      "2.9.6",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(versions.code, 3, versions.stdout + versions.stderr);
    assertNoTrace(versions);
    assert.match(
      versions.stderr,
      /error: npx is not on PATH; upgrade-check needs it to fetch and run Deno 2\.9\.5 and 2\.9\.6 \(`npx --yes deno@<version>`\)/,
    );
    const refs = await upgradeNoPath(empty, [
      "--from-ref",
      "HEAD",
      "--to-ref",
      "HEAD",
      "--out",
      `${dir}/up`,
    ]);
    assert.equal(refs.code, 3, refs.stdout + refs.stderr);
    assertNoTrace(refs);
    assert.match(
      refs.stderr,
      /error: git is not on PATH; upgrade-check needs it to check out --from-ref HEAD and --to-ref HEAD/,
    );
    // the output folder it created is removed again
    await assert.rejects(() => Deno.stat(`${dir}/up`), Deno.errors.NotFound);
    // which programs each kind of check starts by name
    assert.deepEqual(upgradePrograms({ from: "chromium", to: "chromium:/opt/c" }), []);
    assert.equal(upgradePrograms({ from: "deno@2.9.5", to: "chromium" })[0].program, "npx");
  },
);

tmpTest(
  "upgradeCheck (library): a program that cannot be started is one message",
  async (dir, empty) => {
    const path = Deno.env.get("PATH");
    Deno.env.set("PATH", empty);
    try {
      await assert.rejects(
        () =>
          upgradeCheck({
            fromRef: "HEAD",
            toRef: "HEAD",
            matrix: "smoke",
            repeats: 1,
            out: `${dir}/up`,
            log: () => {},
          }),
        /^Error: upgrade-check: could not start git for git worktree .*is it installed and on PATH\?/,
      );
      await assert.rejects(
        () =>
          upgradeCheck({
            from: "2.9.5",
            to: "2.9.6",
            matrix: "smoke",
            repeats: 1,
            out: `${dir}/up`,
            log: () => {},
          }),
        /upgrade-check: could not start npx for the deno 2\.9\.5 side/,
      );
    } finally {
      if (path === undefined) Deno.env.delete("PATH");
      else Deno.env.set("PATH", path);
    }
  },
);

// A matrix whose preset is `../models/cfg.json` was refused by upgrade-check with "outside
// ... (run --config-root <dir> names another folder)", an option upgrade-check did not take
// (nor --max-cases). It takes both now: checked here with run's meaning, passed to each side.
Deno.test("upgrade-check takes run's --config-root and --max-cases, checked and passed on", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-upgrade-root-" }));
  try {
    await Deno.mkdir(`${dir}/ci`);
    await Deno.mkdir(`${dir}/models`);
    await Deno.copyFile(
      new URL(
        "../matrix/bundled/configs/published/DeepSeek-V2-Lite-Chat.config.json",
        import.meta.url,
      ),
      `${dir}/models/cfg.json`,
    );
    const matrix = `${dir}/ci/m.json`;
    await Deno.writeTextFile(
      matrix,
      JSON.stringify({
        name: "m",
        groups: [{ axes: { preset: "../models/cfg.json", dtype: ["f32", "f16"] } }],
      }),
    );
    const o = { from: "2.9.5", to: "2.9.6", matrix };
    await assert.rejects(() => precheckUpgradeSelection(o), /outside the matrix file's folder/);
    await precheckUpgradeSelection({ ...o, configRoot: dir });
    await assert.rejects(
      () => precheckUpgradeSelection({ ...o, configRoot: dir, maxCases: 1 }),
      /more than the limit of 1/,
    );
    const [from] = denoVersionSides({
      ...o,
      configRoot: dir,
      maxCases: 7,
      repeats: 3,
      out: "/tmp/up",
      repoRoot: "/repo",
    });
    const at = (flag: string) => from.args[from.args.indexOf(flag) + 1];
    assert.equal(at("--config-root"), dir);
    assert.equal(at("--max-cases"), "7");
    // the CLI takes them (an unknown option was exit 2 before anything else)
    const error = console.error;
    const lines: string[] = [];
    console.error = (...a: unknown[]) => void lines.push(a.map(String).join(" "));
    try {
      const code = await runProgram([
        "upgrade-check",
        "--from",
        "2.9.5",
        "--to",
        "2.9.6",
        "--matrix",
        matrix,
        "--config-root",
        dir,
        "--max-cases",
        "1",
        "--out",
        `${dir}/out`,
      ], { probeCaps: () => Promise.resolve(null), probeCapsStrict: () => Promise.reject() });
      assert.equal(code, 2, lines.join("\n"));
      assert.match(lines.join("\n"), /more than the limit of 1/);
    } finally {
      console.error = error;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upgradeMode: half a pair names the missing half", () => {
  for (
    const [o, re] of [
      [{ fromRef: "HEAD~1" }, /--to-ref: is missing: --from-ref names one side/],
      [{ toRef: "HEAD" }, /--from-ref: is missing: --to-ref names one side/],
      [{ from: "2.9.5" }, /--to: is missing: --from names one side.*Deno versions/],
      [{ to: "2.9.6" }, /--from: is missing/],
    ] as const
  ) {
    assert.throws(
      () => upgradeMode(o),
      (e: unknown) => e instanceof DriftInputError && re.test(e.message),
    );
  }
  assert.equal(upgradeMode({ fromRef: "a", toRef: "b" }), "refs");
  assert.equal(upgradeMode({ from: "2.9.5", to: "2.9.6" }), "versions");
});

tmpTest(
  "upgrade-check under GitHub Actions: $GITHUB_STEP_SUMMARY gets the check's verdict, not its sides' run summaries",
  async (dir) => {
    // A stand-in npx: the side's run writes a report.json into its --out, and appends a
    // summary to $GITHUB_STEP_SUMMARY when it is set, as `run` does.
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/npx`,
      [
        "#!/bin/sh",
        'out=""; prev=""',
        'for a in "$@"; do [ "$prev" = "--out" ] && out="$a"; prev="$a"; done',
        '/bin/mkdir -p "$out" && /bin/cp "$FAKE_REPORT" "$out/report.json"',
        'if [ -n "$GITHUB_STEP_SUMMARY" ]; then',
        '  echo "## a side\'s run summary" >> "$GITHUB_STEP_SUMMARY"',
        "fi",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const report = reportOf([caseResult(A, 1, 1)], {
      fingerprint: lavapipeFingerprint(),
      filter: "preset=tiny",
    });
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report));
    const summary = `${dir}/step summary.md`;
    const r = await runCli([
      "upgrade-check",
      "--from",
      "2.9.5",
      "--to",
      "2.9.6",
      "--filter",
      "preset=tiny",
      "--out",
      `${dir}/up`,
    ], {
      PATH: `${dir}/bin`,
      FAKE_REPORT: `${dir}/report.json`,
      GITHUB_STEP_SUMMARY: summary,
    }, { all: true });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assertNoTrace(r);
    const md = await Deno.readTextFile(summary);
    assert.doesNotMatch(md, /a side's run summary/, md);
    assert.equal(md, await Deno.readTextFile(`${dir}/up/compare.md`), "compare.md, once");
    assert.match(md, /^## upgrade-check: deno 2\.9\.5 → deno 2\.9\.6\n\n\*\*No regressions\*\*/);
  },
);

tmpTest(
  "upgrade-check whose side fails: an earlier check's --html page and compare.md are gone (exit 3)",
  async (dir) => {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/npx`, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    await Deno.mkdir(`${dir}/up`);
    await Deno.writeTextFile(`${dir}/up/compare.md`, "**No regressions**\n");
    await Deno.writeTextFile(`${dir}/page.html`, "<p>No regressions</p>\n");
    const r = await runCli(
      [
        "upgrade-check",
        "--from",
        "2.9.5",
        "--to",
        "2.9.6",
        "--filter",
        "preset=tiny",
        "--out",
        `${dir}/up`,
        "--html",
        `${dir}/page.html`,
      ],
      { PATH: `${dir}/bin` },
      { all: true },
    );
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /error: the deno 2\.9\.5 run failed with exit 3/);
    for (const p of ["page.html", "up/compare.md"]) {
      await assert.rejects(() => Deno.stat(`${dir}/${p}`), Deno.errors.NotFound, p);
    }
  },
);

tmpTest(
  "upgrade-check --from/--to --matrix <relative file>: the file where the command was given, as run reads it",
  async (dir) => {
    // a stand-in npx that records the --matrix its side was given, then fails the side
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/npx`,
      [
        "#!/bin/sh",
        'prev=""',
        'for a in "$@"; do [ "$prev" = "--matrix" ] && echo "$a" > "$SIDE_MATRIX"; prev="$a"; done',
        "exit 3",
        "",
      ].join("\n"),
      { mode: 0o755 },
    );
    const root = new URL("../", import.meta.url).pathname;
    await Deno.copyFile(`${root}matrix/bundled/smoke.json`, `${dir}/my matrix.json`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}main.ts`,
        "upgrade-check",
        "--from",
        "2.9.5",
        "--to",
        "2.9.6",
        "--matrix",
        "my matrix.json",
        "--filter",
        "preset=tiny",
        "--out",
        `${dir}/up`,
      ],
      cwd: dir,
      env: { NO_COLOR: "1", PATH: `${dir}/bin`, SIDE_MATRIX: `${dir}/side-matrix.txt` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    // it was looked for in the repository: exit 2, "unreadable matrix <repo>/my matrix.json"
    assert.equal(out.code, 3, stderr);
    assert.equal(await Deno.readTextFile(`${dir}/side-matrix.txt`), `${dir}/my matrix.json\n`);
  },
);

Deno.test("upgrade-check --matrix smok given outside the repository: run's 'did you mean \"smoke\"', not '<repo>/smok: unreadable'", async () => {
  // the sides run in the repository, so a relative file was looked for there, and the
  // misspelt bundled name lost the hint `run --matrix smok` gives
  const elsewhere = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () =>
        precheckUpgradeSelection({
          from: "2.9.5",
          to: "2.9.6",
          matrix: "smok",
          repoRoot: elsewhere,
        }),
      (e: Error) => {
        assert.match(e.message, /^smok: unreadable matrix/);
        assert.match(e.message, /did you mean "smoke"\?/);
        return true;
      },
    );
  } finally {
    await Deno.remove(elsewhere, { recursive: true });
  }
});

tmpTest(
  "upgrade-check: a side that fails says so in $GITHUB_STEP_SUMMARY (it was left empty)",
  async (dir, empty) => {
    // an npx that fetches no Deno: exit 1, no report.json (npm's answer to a version it lacks)
    await Deno.writeTextFile(`${empty}/npx`, "#!/bin/sh\necho 'npm error notarget' >&2\nexit 1\n");
    await Deno.chmod(`${empty}/npx`, 0o755);
    const summary = `${dir}/summary.md`;
    await Deno.writeTextFile(summary, "# earlier step\n");
    const r = await runCli(
      [
        "upgrade-check",
        "--from",
        "2.9.5",
        "--to",
        "deno@99.0.0",
        "--filter",
        "preset=tiny;dtype=f32;sk=12",
        "--out",
        `${dir}/up`,
      ],
      { PATH: empty, GITHUB_STEP_SUMMARY: summary },
      { all: true },
    );
    assert.equal(r.code, 3, r.stderr);
    assertNoTrace(r);
    const text = await Deno.readTextFile(summary);
    // the sides as a successful check's headline names them ("deno 2.9.5 → deno 2.9.6"; it
    // read "2.9.5 → deno@99.0.0", as typed)
    assert.match(
      text,
      /^# earlier step\n## upgrade-check: deno 2\.9\.5 → deno 99\.0\.0\n\n\*\*Not compared\*\* \(exit 3\): the deno 2\.9\.5 run exited 1 without writing .*up\/from\/report\.json/,
    );
  },
);

Deno.test("precheckUpgradeSelection: two sides that are the same are warned of (a vacuous 'No regressions')", async () => {
  const warned: string[] = [];
  const warn = (line: string) => warned.push(line);
  // a stand-in git where main and HEAD are one commit, v1 another
  const sha = (ref: string) => ref === "v1" ? "1".repeat(40) : "a".repeat(40);
  const git: GitRunner = (_cwd, args) => {
    if (args[0] === "rev-parse") {
      return Promise.resolve({ code: 0, output: `${sha(args.at(-1)!.split("^")[0])}\n` });
    }
    return Promise.resolve({ code: args[0] === "cat-file" ? 0 : 1, output: "" });
  };
  const check = (o: { from?: string; to?: string; fromRef?: string; toRef?: string }) =>
    precheckUpgradeSelection({ ...o, matrix: "smoke", filter: "preset=tiny", git, warn });
  await check({ fromRef: "main", toRef: "HEAD" });
  await check({ from: "2.9.6", to: "deno@2.9.6" });
  assert.deepEqual(warned, [
    "warning: --from-ref main and --to-ref HEAD are the same commit (aaaaaaaaaaaa): both sides " +
    "run the same code, so the check measures only this machine's noise",
    "warning: --from 2.9.6 and --to deno@2.9.6 are the same runtime (deno 2.9.6): both sides " +
    "run the same code, so the check measures only this machine's noise",
  ]);
  warned.length = 0;
  await check({ fromRef: "v1", toRef: "HEAD" });
  await check({ from: "2.9.5", to: "2.9.6" });
  assert.deepEqual(warned, []);
});

tmpTest(
  "upgrade-check with a Deno version npm does not have: exit 2 at once naming the nearest ones; npm unreachable: a line, and the check goes on",
  async (dir) => {
    await Deno.mkdir(`${dir}/bin`);
    // an npx that would run a side: it records that it was started
    await Deno.writeTextFile(
      `${dir}/bin/npx`,
      `#!/bin/sh\necho started >> "${dir}/npx-started"\nexit 3\n`,
      { mode: 0o755 },
    );
    const npm = (body: string) =>
      Deno.writeTextFile(`${dir}/bin/npm`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    await npm(`echo '["2.9.4", "2.9.5", "2.9.6", "2.10.0-rc.1"]'`);
    const check = (to: string) =>
      runCli(
        [
          "upgrade-check",
          "--from",
          "2.9.5",
          "--to",
          to,
          "--filter",
          "preset=tiny",
          "--out",
          `${dir}/up`,
        ],
        { PATH: `${dir}/bin` },
        { all: true },
      );
    const r = await check("2.9.70");
    assert.equal(r.code, 2, r.stderr);
    assertNoTrace(r);
    assert.equal(
      errorOf(r),
      "error: --to: Deno 2.9.70 is not on npm (npm view deno versions), so npx --yes " +
        "deno@2.9.70 cannot fetch it; the nearest there: 2.9.6",
    );
    assert.equal(await pathExists(`${dir}/npx-started`), false, "no side was started");
    assert.equal(await pathExists(`${dir}/up`), false, "no --out made");
    // npm fails (offline): said, and the sides run (this npx fails them: exit 3)
    await npm("echo 'npm error code ENOTFOUND' >&2\nexit 1");
    const offline = await check("2.9.6");
    assert.equal(offline.code, 3, offline.stderr);
    assert.match(
      offline.stderr,
      /upgrade-check: could not check that Deno 2\.9\.5 and 2\.9\.6 are on npm \(npm view deno versions: npm view exited 1: npm error code ENOTFOUND\); going on/,
    );
    assert.equal(await pathExists(`${dir}/npx-started`), true);
  },
);

Deno.test("nearestVersions: the latest release below and the first above", () => {
  const list = ["2.9.4", "2.9.5", "2.9.6", "2.10.0-rc.1", "2.10.0"];
  assert.deepEqual(nearestVersions("2.9.7", list), ["2.9.6", "2.10.0"]);
  assert.deepEqual(nearestVersions("1.0.0", list), ["2.9.4"]);
  assert.deepEqual(nearestVersions("2.10.0-rc.2", list), ["2.10.0-rc.1", "2.10.0"]);
});

// --config-root with revisions was passed as typed, each side reading a relative one in its own
// checkout, but checked only for --to-ref .: a revision without the folder failed its side
// after the other side's minutes. A relative one is a folder of each revision's checkout.
Deno.test("precheckUpgradeSelection: a relative --config-root must be a folder of each revision; an absolute one on disk", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla-upgrade-refroot-" }));
  try {
    await Deno.mkdir(`${dir}/cfgs`);
    await Deno.writeTextFile(`${dir}/file.txt`, "x");
    // v1 has cfgs/ as a folder and file.txt as a file; v2 has neither
    const git: GitRunner = (_cwd, args) => {
      const [cmd, ...rest] = args;
      if (cmd === "rev-parse") {
        const ref = rest.at(-1)!.split("^")[0];
        return Promise.resolve({ code: 0, output: `${ref === "v1" ? "1" : "2"}`.repeat(40) });
      }
      if (cmd === "cat-file" && rest[0] === "-t") {
        const kind: Record<string, string> = {
          "v1:cfgs": "tree",
          "v1:": "tree",
          "v1:file.txt": "blob",
        };
        const k = kind[rest[1]];
        return Promise.resolve(k ? { code: 0, output: `${k}\n` } : { code: 128, output: "" });
      }
      // the bundled matrix is in each revision
      return Promise.resolve({ code: cmd === "cat-file" ? 0 : 1, output: "" });
    };
    const check = (fromRef: string, toRef: string, configRoot: string) =>
      precheckUpgradeSelection({ fromRef, toRef, matrix: "smoke", configRoot, git, repoRoot: dir });
    await check("v1", "v1", "cfgs");
    await check("v1", ".", "cfgs/");
    await check("v1", "v1", ".");
    await assert.rejects(
      () => check("v1", "v2", "cfgs"),
      (e: unknown) =>
        e instanceof DriftInputError &&
        e.message ===
          '--config-root: "cfgs" is not in --to-ref v2 (that revision): a relative --config-root ' +
            "is read in each revision's checkout, as a relative --matrix file is; commit the " +
            "folder, or give an absolute path",
    );
    await assert.rejects(
      () => check("v1", "v1", "file.txt"),
      /--config-root: "file.txt" is not a folder, but a file, of --from-ref v1 \(that revision\)/,
    );
    // the working tree's side reads it in this checkout
    await assert.rejects(
      () => check(".", "v1", "nope"),
      /--config-root: "nope" is not in --from-ref \. \(this checkout\)/,
    );
    // absolute: a folder on disk, which both sides read
    await check("v1", "v2", `${dir}/cfgs`);
    await assert.rejects(
      () => check("v1", "v2", `${dir}/none`),
      (e: unknown) =>
        e instanceof DriftInputError &&
        e.message === `--config-root: ${dir}/none: no such folder (both revisions read this ` +
            "absolute path)",
    );
    // and the help says what a relative one means with revisions
    const help = upgradeCheckCommand().helpInformation().replace(/\s+/g, " ");
    assert.match(
      help,
      /a relative --matrix file or --config-root is read in each revision's checkout, an absolute one on disk/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

tmpTest(
  "upgrade-check passes --max-cases to a side's run only where given (a revision's run before 400bb47 refused it, exit 2)",
  async (dir) => {
    // a stand-in npx that records its side's arguments, then fails the side
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(
      `${dir}/bin/npx`,
      '#!/bin/sh\nfor a in "$@"; do echo "$a"; done > "$SIDE_ARGS"\nexit 3\n',
      { mode: 0o755 },
    );
    const check = async (...more: string[]) => {
      const r = await runCli(
        [
          "upgrade-check",
          ...["--from", "2.9.5", "--to", "2.9.6", "--filter", "preset=tiny"],
          ...["--out", `${dir}/up`, ...more],
        ],
        { PATH: `${dir}/bin`, SIDE_ARGS: `${dir}/args.txt` },
        { all: true },
      );
      assert.equal(r.code, 3, r.stderr);
      return (await Deno.readTextFile(`${dir}/args.txt`)).split("\n");
    };
    assert.ok(!(await check()).includes("--max-cases"), "the default is the side's own");
    const given = await check("--max-cases", "500");
    assert.equal(given[given.indexOf("--max-cases") + 1], "500");
  },
);
