// A matrix whose `backend` axis names no registered backend, or whose config path names no
// file (or a folder), is refused when it is loaded (exit 2 naming the file, the entry, the
// value and what is valid), not run as cases that each fail (exit 1, read as a regression).
// A config file that exists but is invalid stays a case result (`expect: invalid` tests it),
// and so does a backend a group expects to be unknown.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { parseFilter } from "../matrix/case_id.ts";
import { loadMatrix, unknownBackends, validateMatrix } from "../matrix/expand.ts";
import { runCli } from "./helpers_cli.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mla-matrix-load-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const write = (path: string, groups: unknown[]) =>
  Deno.writeTextFile(path, JSON.stringify({ name: "m", groups }));

Deno.test("run: an unregistered backend or a missing config file is exit 2 on load", async () => {
  await withDir(async (dir) => {
    await write(`${dir}/backend.json`, [{
      axes: { preset: "tiny", backend: ["cpu-reference", "nosuch"] },
    }]);
    await write(`${dir}/config.json`, [{ axes: { preset: ["tiny", "missing.json"], sk: 8 } }]);
    await Deno.mkdir(`${dir}/folder.json`);
    await write(`${dir}/folder_cfg.json`, [{ axes: { preset: "./folder.json" } }]);
    const cases: [string, RegExp][] = [
      [
        "backend.json",
        /backend\.json: unknown backend\n\s+groups\[0\]\.axes\.backend\[1\]: "nosuch" is not a registered backend; registered: wgsl-absorbed, .*cpu-reference/,
      ],
      [
        "config.json",
        /config\.json: config file not found\n\s+groups\[0\]\.axes\.preset\[1\]: "missing\.json" names no file \(it resolves to .*\/missing\.json/,
      ],
      [
        "folder_cfg.json",
        /folder_cfg\.json: config path is a folder\n\s+groups\[0\]\.axes\.preset\[0\]: "\.\/folder\.json" is a folder/,
      ],
    ];
    for (const [file, message] of cases) {
      const r = await runCli([
        "run",
        "--matrix",
        `${dir}/${file}`,
        "--repeats",
        "0",
        "--out",
        `${dir}/out`,
      ]);
      assert.equal(r.code, 2, `${file}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stdout, /\[1\//, "no case ran");
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error/);
      await assert.rejects(() => Deno.stat(`${dir}/out`), Deno.errors.NotFound);
    }
  });
});

Deno.test("loadMatrix: what stays a case result", async () => {
  await withDir(async (dir) => {
    // an existing but invalid config in a group that expects invalid: the case reports it
    await Deno.writeTextFile(`${dir}/bad_cfg.json`, "{}");
    await write(`${dir}/m.json`, [{
      axes: { preset: "bad_cfg.json" },
      expect: { support: "invalid" },
    }]);
    assert.equal((await loadMatrix(`${dir}/m.json`)).cases.length, 1);
    // a group that expects backend.unknown tests that very decision
    const expecting = {
      name: "m",
      groups: [{
        axes: { preset: "tiny", backend: "nosuch" },
        expect: { support: "unsupported", codes: ["backend.unknown"] },
      }],
    } as const;
    assert.deepEqual(unknownBackends(expecting), []);
    await Deno.writeTextFile(`${dir}/e.json`, JSON.stringify(expecting));
    assert.equal((await loadMatrix(`${dir}/e.json`)).cases.length, 1);
    // the bundled matrices load as they are
    for (const name of ["smoke", "nightly", "adapter"]) await loadMatrix(name);
    await assert.rejects(
      () =>
        write(`${dir}/n.json`, [{ axes: { backend: "nosuch" } }]).then(() =>
          loadMatrix(`${dir}/n.json`)
        ),
      (e: unknown) => e instanceof ConfigError && /unknown backend/.test(e.message),
    );
  });
});

Deno.test("a case over MAX_LAYOUT_TOKENS query or key tokens refuses the matrix on load, naming it (run: exit 2, nothing written)", async () => {
  await withDir(async (dir) => {
    // Within every axis bound (b 4096, sk 1 Mi), but 4096 x 1 Mi tokens: the layout's tables
    // ran out of memory after 40 s, an error case with a RangeError.
    await write(`${dir}/big.json`, [
      { axes: { preset: "tiny", b: [2, 4096], sq: 1, sk: 1048576 } },
    ]);
    await assert.rejects(
      () => loadMatrix(`${dir}/big.json`),
      (e: unknown) =>
        e instanceof ConfigError && /case too large/.test(e.message) &&
        /b=4096;sq=1;sk=1048576.*"b 4096 x sk 1048576 = 4294967296 tokens" is over the 16777216/
          .test(e.message) &&
        !/b=2;/.test(e.message),
    );
    const r = await runCli(["run", "--matrix", `${dir}/big.json`, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /case too large/);
    assert.equal(await Deno.stat(`${dir}/out`).then(() => true, () => false), false);
  });
});

Deno.test("a thd case with more queries than keys refuses the matrix on load: thd would run it with sq = sk", async () => {
  await withDir(async (dir) => {
    // thd packs a prefill as self-attention: sq 6 over sk 2 ran as 2 queries a sequence
    // (rowsTotal 4, not 12) under an id saying sq=6, and passed. bshd runs 6 (rows with no
    // visible key included); thd with sq <= sk is what it says.
    await write(`${dir}/thd.json`, [
      { axes: { preset: "tiny", layout: ["bshd", "thd"], b: 2, sq: [1, 2, 6], sk: 2 } },
    ]);
    await assert.rejects(
      () => loadMatrix(`${dir}/thd.json`),
      (e: unknown) =>
        e instanceof ConfigError && /thd case with sq > sk/.test(e.message) &&
        /sq=6;sk=2;layout=thd.*"sq 6 > sk 2" .*would run sq 2; .*layout bshd or sbhd/
          .test(e.message) &&
        e.issues.length === 1,
    );
    await write(`${dir}/ok.json`, [{
      axes: { preset: "tiny", layout: ["bshd", "thd"], b: 2, sq: [1, 2, 6], sk: 2 },
      exclude: [{ layout: "thd", sq: 6 }],
    }]);
    assert.equal((await loadMatrix(`${dir}/ok.json`)).cases.length, 5);
    // a layer case is self-attention in every layout: the advice is sq = sk
    await write(`${dir}/layer.json`, [
      { axes: { mode: "layer", preset: "tiny", layout: "thd", b: 2, sq: 3, sk: 2 } },
    ]);
    await assert.rejects(
      () => loadMatrix(`${dir}/layer.json`),
      (e: unknown) =>
        e instanceof ConfigError &&
        /a layer case is self-attention: give sq = sk/.test(e.message) &&
        !/bshd/.test(e.message),
    );
  });
});

Deno.test("a mode layer case that is not self-attention is refused on load unless its group expects it invalid", async () => {
  // {"mode":"layer","preset":"tiny","sq":2,"sk":4} loaded, ran the whole matrix and ended as
  // "unexpected" (exit 1): its params alone rule it out
  await withDir(async (dir) => {
    await write(`${dir}/layer.json`, [
      { name: "attention", axes: { preset: "tiny", sq: 2, sk: 4 } },
      { name: "decode", axes: { mode: "layer", preset: "tiny", sq: 2, sk: 4 } },
      { name: "varlen", axes: { mode: "layer", preset: "tiny", varlen: "normal", sq: 4, sk: 4 } },
      { name: "paged", axes: { mode: "layer", preset: "tiny", page: 2, sq: 4, sk: 4 } },
      // thd packs each drawn length as its own prefill: self-attention, loads
      {
        name: "packed",
        axes: { mode: "layer", preset: "tiny", layout: "thd", varlen: "normal", sq: 4, sk: 4 },
      },
    ]);
    for (const filter of [undefined, parseFilter("mode=attention")]) {
      await assert.rejects(
        () => loadMatrix(`${dir}/layer.json`, { filter }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /layer case that is not self-attention/);
          assert.deepEqual(e.issues.map((i) => i.value), [
            "sq 2 != sk 4",
            "varlen normal with layout bshd",
            "a paged cache (page 2)",
          ]);
          assert.match(
            e.message,
            /sq=2;sk=4;layout=bshd;causal=1;mode=layer: "sq 2 != sk 4" rules out a layer case/,
          );
          assert.match(e.message, /"codes": \["self-attention"\]/);
          return true;
        },
      );
    }
    await write(`${dir}/expected.json`, [{
      axes: { mode: "layer", preset: "tiny", sq: 2, sk: 4 },
      expect: { support: "invalid", codes: ["self-attention"] },
    }]);
    assert.equal((await loadMatrix(`${dir}/expected.json`)).cases.length, 1);
  });
});

Deno.test("a group with a backend axis and no path axis runs on its backends' path; backends of both paths refuse the matrix on load", async () => {
  await withDir(async (dir) => {
    // It took the default path (absorbed), and every case of an expanded backend was
    // refused with backend.path-mismatch, where explain --backend takes the backend's path.
    await write(`${dir}/exp.json`, [
      { axes: { preset: "tiny", backend: "wgsl-expanded-tiled" } },
      { axes: { preset: "tiny", backend: "wgsl-absorbed-gemm" } },
      { axes: { preset: "tiny", path: "absorbed", backend: "wgsl-expanded" } },
    ]);
    const { cases } = await loadMatrix(`${dir}/exp.json`);
    assert.deepEqual(cases.map((c) => c.params.path), ["expanded", "absorbed", "absorbed"]);
    assert.match(cases[0].id, /path=expanded;.*backend=wgsl-expanded-tiled/);
    const only = await loadMatrix(`${dir}/exp.json`, {
      filter: new Map([["path", ["expanded"]]]),
    });
    assert.deepEqual(only.cases.map((c) => c.params.backend), ["wgsl-expanded-tiled"]);
    await write(`${dir}/both.json`, [
      { axes: { preset: "tiny" } },
      { axes: { preset: "tiny", sk: 8, backend: ["wgsl-absorbed", "wgsl-expanded"] } },
    ]);
    await assert.rejects(
      () => loadMatrix(`${dir}/both.json`),
      (e: unknown) =>
        e instanceof ConfigError && /backend axis of both paths/.test(e.message) &&
        /groups\[1\]\.axes\.backend: .*wgsl-absorbed: absorbed; wgsl-expanded: expanded.*one group per path/
          .test(e.message),
    );
  });
});

Deno.test("an invalid case's empty message fragment is refused on load (it is in every message)", async () => {
  await withDir(async (dir) => {
    for (const codes of [[""], ["must be even", " "]]) {
      await write(`${dir}/m.json`, [{
        axes: { preset: "tiny" },
        expect: { support: "invalid", codes },
      }]);
      await assert.rejects(
        () => loadMatrix(`${dir}/m.json`),
        (e: unknown) =>
          e instanceof ConfigError &&
          /expect\.codes\[\d\]: "\s*" must not be empty: an invalid case's codes are fragments of its message/
            .test(e.message),
      );
    }
  });
});

Deno.test("a matrix or group name with a control character or a bidirectional override is refused, naming it", () => {
  const named = (matrix: string, group: string) => ({
    name: matrix,
    groups: [{ name: group, axes: { preset: "tiny" } }],
  });
  // fine: any printable text, non-ASCII included
  validateMatrix(named("nightly 夜", "tiny: décode | prefill"), "m.json");
  for (
    const [m, path] of [
      [named("m", "g\u202e1"), "groups[0].name"],
      [named("m", "g\u00001"), "groups[0].name"],
      [named("m\u0007", "g"), "name"],
      [named("m", "line\nbreak"), "groups[0].name"],
    ] as const
  ) {
    assert.throws(
      () => validateMatrix(m, "m.json"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) =>
          i.path === path && /must not contain control characters or bidirectional/.test(i.message)
        ),
      JSON.stringify(m),
    );
  }
});

Deno.test("a group name that is empty or only spaces is refused, naming it; an absent one is fine", () => {
  const withGroup = (g: Record<string, unknown>) => ({ name: "m", groups: [g] });
  validateMatrix(withGroup({ axes: { preset: "tiny" } }), "m.json");
  for (const name of ["", "   ", "\u00a0"]) {
    assert.throws(
      () => validateMatrix(withGroup({ name, axes: { preset: "tiny" } }), "m.json"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) =>
          i.path === "groups[0].name" && /must not be empty or only spaces/.test(i.message)
        ),
      JSON.stringify(name),
    );
  }
});

// A matrix file that exists but is empty, not JSON, or a folder had "; bundled matrices:
// smoke, nightly, adapter" added to its refusal, as if the path had not been taken as a file.
// The bundled names now follow only a --matrix that names nothing.
Deno.test("loadMatrix: the bundled names follow a name that is no file, not a file's JSON error", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/empty.json`, "");
    await Deno.writeTextFile(`${dir}/bad.json`, "{ nope");
    await Deno.mkdir(`${dir}/folder.json`);
    for (const name of ["empty.json", "bad.json", "folder.json"]) {
      const e = await loadMatrix(`${dir}/${name}`).then(() => null, (e: unknown) => e);
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(
        e.message,
        new RegExp(`${name}" (is not valid JSON|cannot be read|is a folder, not a matrix file)`),
      );
      assert.doesNotMatch(e.message, /bundled matrices/, name);
    }
    const missing = await loadMatrix(`${dir}/none.json`).then(() => null, (e: unknown) => e);
    assert.ok(missing instanceof ConfigError);
    assert.match(missing.message, /cannot be read .*; bundled matrices: smoke, nightly, adapter/);
  });
});

// A config file that is not JSON at all (cut short) was loaded and each of its cases ran to
// "config rejected: malformed config" (exit 1, read as a regression), where a missing config
// is exit 2 on load. It is now refused on load too, naming the entry, the file and where the
// JSON breaks; a group that expects "invalid" still tests such a file as a case.
Deno.test("loadMatrix: a config file that is not JSON is refused on load unless expected invalid", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/cut.json`, '{"hidden_size": 1');
    await write(`${dir}/m.json`, [{ name: "g", axes: { preset: ["tiny", "cut.json"] } }]);
    const e = await loadMatrix(`${dir}/m.json`).then(() => null, (e: unknown) => e);
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      /m\.json: malformed config file\n {2}groups\[0\]\.axes\.preset\[1\]: "cut\.json" names a file that is not valid JSON: .* at line 1, column 18 \(.*cut\.json\), so every case of it would be rejected/,
    );
    await write(`${dir}/m.json`, [{
      axes: { preset: "cut.json" },
      expect: { support: "invalid", codes: ["not valid JSON"] },
    }]);
    assert.equal((await loadMatrix(`${dir}/m.json`)).cases.length, 1);
  });
});

// A config path naming another of the harness's files (a matrix, a run's report.json) loaded,
// and each of its cases ran to "config rejected: ... not a model config" (exit 1, read as a
// regression). It is refused on load as a file that is not JSON is, naming what the file is;
// a group that expects "invalid" still tests such a file as a case.
Deno.test("loadMatrix: a config path naming a matrix or a run report is refused on load", async () => {
  await withDir(async (dir) => {
    await write(`${dir}/other.json`, [{ axes: { preset: "tiny" } }]);
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify({ version: 1, results: [] }));
    await write(`${dir}/m.json`, [{ name: "g", axes: { preset: ["other.json", "report.json"] } }]);
    const e = await loadMatrix(`${dir}/m.json`).then(() => null, (e: unknown) => e);
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      /m\.json: malformed config file\n {2}groups\[0\]\.axes\.preset\[0\]: "other\.json" names a file that is not a model config: its key groups shows it is a matrix.*so every case of it would be rejected/,
    );
    assert.match(
      e.message,
      /preset\[1\]: "report\.json" names a file that is not a model config: .* run report/,
    );
    await write(`${dir}/m.json`, [{
      axes: { preset: "other.json" },
      expect: { support: "invalid", codes: ["not a model config"] },
    }]);
    assert.equal((await loadMatrix(`${dir}/m.json`)).cases.length, 1);
  });
});

Deno.test("a group with an oversized case or a thd case with sq > sk refuses the matrix under any filter, as a repeated case does", async () => {
  await withDir(async (dir) => {
    // the broken group is one a filter leaves out: it ran filtered, refused unfiltered
    await write(`${dir}/big.json`, [
      { name: "ok", axes: { preset: "tiny", dtype: "f32" } },
      { name: "big", axes: { preset: "tiny", dtype: "f16", b: 4096, sq: 1, sk: 1048576 } },
    ]);
    await write(`${dir}/thd.json`, [
      { name: "ok", axes: { preset: "tiny", layout: "bshd", sq: 6, sk: 2 } },
      { name: "thd", axes: { preset: "tiny", layout: "thd", sq: 6, sk: 2 } },
    ]);
    const f = (key: string, value: string) => ({ filter: new Map([[key, [value]]]) });
    await assert.rejects(
      () => loadMatrix(`${dir}/big.json`, f("dtype", "f32")),
      (e: unknown) =>
        e instanceof ConfigError && /case too large/.test(e.message) &&
        /dtype=f16;b=4096;sq=1;sk=1048576/.test(e.message),
    );
    await assert.rejects(
      () => loadMatrix(`${dir}/thd.json`, f("layout", "bshd")),
      (e: unknown) =>
        e instanceof ConfigError && /thd case with sq > sk/.test(e.message) &&
        /sq=6;sk=2;layout=thd/.test(e.message) && e.issues.length === 1,
    );
    // and the CLI: exit 2 on load, nothing written
    const r = await runCli([
      "run",
      "--matrix",
      `${dir}/thd.json`,
      "--filter",
      "layout=bshd",
      "--out",
      `${dir}/out`,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /thd case with sq > sk/);
    assert.equal(await Deno.stat(`${dir}/out`).then(() => true, () => false), false);
  });
});

// `--matrix smoke.json` (or matrix/bundled/smoke.json from another folder) said only "cannot
// be read ...; bundled matrices: smoke, nightly, adapter": nothing said that the name given is
// a bundled one's file, which is given by its name.
Deno.test("loadMatrix: a bundled matrix's file name that is no file here suggests the bundled name", async () => {
  await withDir(async (dir) => {
    for (
      const [given, name] of [["smoke.json", "smoke"], ["matrix/bundled/nightly.json", "nightly"]]
    ) {
      const e = await loadMatrix(`${dir}/${given}`).then(() => null, (e: unknown) => e);
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(
        e.message,
        new RegExp(
          `cannot be read .*; a bundled matrix is given by its name: did you mean "${name}"\\? ` +
            "bundled matrices: smoke, nightly, adapter",
        ),
      );
    }
    // another name is not suggested as a bundled one
    const other = await loadMatrix(`${dir}/other.json`).then(() => null, (e: unknown) => e);
    assert.ok(other instanceof ConfigError);
    assert.doesNotMatch(other.message, /did you mean/);
  });
});

// loadMatrix and parseFilter are exported (deno.json "./matrix"): from a JavaScript caller a
// missing name failed with "Cannot read properties of undefined (reading 'replace')", null
// options with "(reading 'configRoot')", a filter text in place of a parsed filter with
// "filter.get is not a function", parseFilter() with "(reading 'split')", and a maxCases of
// NaN refused every matrix as "more than the limit of NaN".
Deno.test("loadMatrix and parseFilter: arguments of another type are a RangeError saying what to pass", async () => {
  type Options = Parameters<typeof loadMatrix>[1];
  const cases: [unknown, unknown, RegExp][] = [
    [
      undefined,
      {},
      /^loadMatrix: the matrix must be a bundled matrix's name \(smoke, nightly, adapter\) or a file's path, found undefined$/,
    ],
    [
      "smoke",
      null,
      /^loadMatrix: options must be an object \{ maxCases\?, filter\?, configRoot\?, shard\? \}, found null$/,
    ],
    ["smoke", { maxCases: NaN }, /^loadMatrix: maxCases must be a whole number >= 1, found NaN$/],
    ["smoke", { maxCases: "5" }, /^loadMatrix: maxCases must be a whole number >= 1, found "5"$/],
    [
      "smoke",
      { filter: "preset=tiny" },
      /^loadMatrix: filter must be a parsed filter \(parseFilter\(text\), matrix\/case_id\.ts\) or null, found "preset=tiny"$/,
    ],
  ];
  for (const [name, options, message] of cases) {
    const e = await loadMatrix(name as string, options as Options).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(e instanceof RangeError && message.test(e.message), `${message}: ${e}`);
  }
  assert.throws(
    () => parseFilter(undefined as unknown as string),
    /^RangeError: filter must be a string such as preset=tiny;dtype=f16,f32, found undefined$/,
  );
  // what they take still loads
  const { cases: tiny } = await loadMatrix("smoke", { filter: parseFilter("preset=tiny") });
  assert.ok(tiny.length > 0);
});

// A config file that is JSON but no config the adapter reads (no MLA keys, an odd rope width)
// was loaded and each of its cases ran to "config rejected" (exit 1, read as a regression,
// after every other case ran), where a config that is not JSON at all is refused on load. It
// is refused on load too, naming the entry, the file and the adapter's reason, unless its
// group expects "invalid" (which tests exactly that).
Deno.test("loadMatrix: a JSON config the adapter rejects is refused on load unless expected invalid", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/partial.json`, JSON.stringify({ hidden_size: 64 }));
    await write(`${dir}/m.json`, [{ name: "g", axes: { preset: ["tiny", "partial.json"] } }]);
    const e = await loadMatrix(`${dir}/m.json`).then(() => null, (e: unknown) => e);
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      /invalid config file\n {2}groups\[0\]\.axes\.preset\[1\]: "partial\.json" names a config the harness rejects \(.*partial\.json: \(root\): is not an MLA config: .*\), so every case of it would be rejected; fix the file, or expect \{"support": "invalid"\}/,
    );
    // run: exit 2 before any case, nothing written
    const r = await runCli(["run", "--matrix", `${dir}/m.json`, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /\[1\//, "no case ran");
    // expected invalid, it stays a case
    await write(`${dir}/m.json`, [{
      name: "g",
      axes: { preset: "partial.json" },
      expect: { support: "invalid" },
    }]);
    assert.equal((await loadMatrix(`${dir}/m.json`)).cases.length, 1);
  });
});
