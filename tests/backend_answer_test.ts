/**
 * A user backend's `check()` answer is checked where the harness receives it
 * (adapter/backend_answer.ts): a Promise, `{}`, another path than the module's, a variant
 * that is not positive integers, an empty reason, a throw: each is refused naming the
 * backend, its module, the field, the value and what would be valid (exit 2 in the CLI,
 * no stack trace), never read as if it were right. Also the module's other exports: its id
 * (named with the module), its `files` (next to or below it) and one file under two names.
 *
 * @module
 */
import assert from "node:assert/strict";
import { askBackend, BackendAnswerError, checkSupportAnswer } from "../adapter/backend_answer.ts";
import { BUNDLED_BACKENDS, loopHelpers, type SupportQuery } from "../adapter/backends.ts";
import { ConfigError } from "../adapter/errors.ts";
import { normalizeLayout } from "../adapter/layout.ts";
import { presetSpec } from "../adapter/presets.ts";
import { registerBackend } from "../adapter/registry.ts";
import { resolve } from "../adapter/resolve.ts";
import type { DeviceCaps } from "../adapter/types.ts";
import { loadBackendModule, validateBackendModule } from "../kernels/backend_module.ts";
import * as naive from "../examples/backends/naive/mod.ts";
import { GL_CAPS, H100_CAPS, LAVAPIPE_CAPS, NO_F16_CAPS } from "./caps_fixtures.ts";
import { runCli } from "./helpers_cli.ts";

const NAIVE_URL = new URL("../examples/backends/naive/mod.ts", import.meta.url).href;
const CAPS_FILE = "tests/fixtures/caps_lavapipe.json";

function query(caps: DeviceCaps | null, dtype: "f32" | "f16" = "f32"): SupportQuery {
  return {
    spec: presetSpec("tiny"),
    layout: normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true }),
    dtype,
    caps,
    loop: loopHelpers(caps),
    workgroupElementCap: null,
  };
}

/** The naive example's answer on a lavapipe-like device (supported). */
const GOOD = naive.check(query(LAVAPIPE_CAPS));
const ABSORBED = { id: "mine", path: "absorbed" as const };

/** Assert `f` throws a BackendAnswerError naming the backend, its module and `field`. */
function refused(f: () => unknown, field: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof BackendAnswerError, String(e));
    assert.ok(e instanceof ConfigError, "a ConfigError: exit 2 in the CLI");
    assert.match(
      e.message,
      /^backend mine \(module mine\.ts\): check\(\) broke the backend contract/,
    );
    assert.match(e.message, field);
    return true;
  });
}

Deno.test("answers of the naive example and of every bundled backend pass the check", () => {
  assert.deepEqual(GOOD.reasons, []);
  assert.equal(checkSupportAnswer(GOOD, ABSORBED, query(LAVAPIPE_CAPS), "mine.ts"), GOOD);
  for (const caps of [LAVAPIPE_CAPS, NO_F16_CAPS, GL_CAPS, H100_CAPS, null]) {
    for (const dtype of ["f32", "f16"] as const) {
      const q = query(caps, dtype);
      for (const b of Object.values(BUNDLED_BACKENDS)) {
        if (b.runsOn !== "gpu") continue;
        checkSupportAnswer(b.check(q), b, q, b.id);
      }
    }
  }
});

Deno.test("an answer that is not an object, or a Promise (async check), is refused", () => {
  const q = query(LAVAPIPE_CAPS);
  refused(() => checkSupportAnswer(Promise.resolve(GOOD), ABSORBED, q, "mine.ts"), /Promise/);
  refused(
    () => checkSupportAnswer(Promise.reject(new Error("late")), ABSORBED, q, "mine.ts"),
    /\(answer\): "\(a Promise\)" must be the answer itself: check\(\) is synchronous/,
  );
  refused(() => checkSupportAnswer(undefined, ABSORBED, q, "mine.ts"), /\(answer\): \(missing\)/);
  // An answer whose reading throws (a getter): refused as not plain data, not a crash.
  const trap = {
    ...GOOD,
    get reasons(): never {
      throw new Error("boom");
    },
  };
  refused(
    () => checkSupportAnswer(trap, ABSORBED, q, "mine.ts"),
    /\(answer\): "\(an object\)" could not be read \(boom\): an answer is plain data/,
  );
  refused(
    () => checkSupportAnswer({}, ABSORBED, q, "mine.ts"),
    /reasons: \(missing\) must be an array of \{ code, message \}[^]*path: \(missing\) must be "absorbed"/,
  );
});

Deno.test("an answer of the other path than the module's is refused", () => {
  refused(
    () =>
      checkSupportAnswer({ ...GOOD, path: "expanded" }, ABSORBED, query(LAVAPIPE_CAPS), "mine.ts"),
    /path: "expanded" must be "absorbed", the path the module exports/,
  );
  // also when it refuses the case: the path is part of every answer
  const refusing = naive.check(query(null));
  assert.ok(refusing.reasons.length > 0);
  refused(
    () => checkSupportAnswer({ ...refusing, path: "dense" }, ABSORBED, query(null), "mine.ts"),
    /path: "dense" must be "absorbed"/,
  );
});

Deno.test("a supported answer's variant, buffers and widths are sanity-checked", () => {
  const q = query(LAVAPIPE_CAPS);
  const withVariant = (v: Record<string, unknown>) => ({
    ...GOOD,
    variant: { ...GOOD.variant, ...v },
  });
  const check = (a: unknown) => () => checkSupportAnswer(a, ABSORBED, q, "mine.ts");
  refused(
    check(withVariant({ workgroupSize: -5 })),
    /variant\.workgroupSize: -5 must be a positive integer \(invocations per workgroup\)/,
  );
  refused(check(withVariant({ kvSplits: 1.5 })), /variant\.kvSplits: 1\.5 must be a positive/);
  refused(check(withVariant({ queryTile: NaN })), /variant\.queryTile: "NaN" must be a positive/);
  refused(check(withVariant({ keysPerBlock: "16" })), /variant\.keysPerBlock: "16" must be/);
  refused(check(withVariant({ decodeStep: 0 })), /variant\.decodeStep: 0 must be a positive/);
  refused(check(withVariant({ family: "" })), /variant\.family: "" must be a non-empty string/);
  refused(check(withVariant({ dtype: "f16" })), /variant\.dtype: "f16" must be the query's.*"f32"/);
  refused(check(withVariant({ subgroups: true })), /variant\.subgroups: true needs the WebGPU/);
  refused(check({ ...GOOD, variant: undefined }), /variant: \(missing\) must be an object/);
  refused(check({ ...GOOD, keyWidth: 0 }), /keyWidth: 0 must be a positive integer/);
  refused(check({ ...GOOD, valueWidth: undefined }), /valueWidth: \(missing\) must be/);
  refused(check({ ...GOOD, buffers: "q" }), /buffers: "q" must be an array of \{ name, bytes \}/);
  refused(
    check({ ...GOOD, buffers: [{ name: "x", bytes: -1 }, { name: "x", bytes: 4 }] }),
    /buffers\[0\]\.bytes: -1 must be a whole number[^]*buffers\[1\]\.name: "x" is listed twice/,
  );
  // what this device cannot create at all (explain showed a 1e9-invocation plan as supported)
  refused(
    check(withVariant({ workgroupSize: 1e9 })),
    /variant\.workgroupSize: 1000000000 is over this device's maxComputeInvocationsPerWorkgroup \d+: no pipeline/,
  );
  refused(
    check({ ...GOOD, buffers: [{ name: "huge", bytes: 2 ** 40 }] }),
    /buffers\[0\]\.bytes: 1099511627776 is over this device's maxBufferSize \d+: the buffer cannot be created/,
  );
  // without a device there is no limit to compare
  assert.ok(
    checkSupportAnswer(withVariant({ workgroupSize: 1e9 }), ABSORBED, query(null), "mine.ts"),
  );
  // an unsupported answer's plan fields are not read, so not checked
  const refusing = naive.check(query(null));
  assert.ok(
    checkSupportAnswer({ ...refusing, variant: { ...refusing.variant, workgroupSize: -5 } }, {
      id: "mine",
      path: "absorbed",
    }, query(null)),
  );
});

Deno.test("reasons must each have a code and a message", () => {
  const q = query(LAVAPIPE_CAPS);
  const check = (reasons: unknown) => () =>
    checkSupportAnswer({ ...GOOD, reasons }, ABSORBED, q, "mine.ts");
  refused(
    check([{ code: "", message: "" }]),
    /reasons\[0\]\.code: "" must be a code matching[^]*reasons\[0\]\.message: "" must be a non-empty string/,
  );
  refused(check([{ code: "a:b", message: "x" }]), /reasons\[0\]\.code: "a:b"/);
  refused(check(["too slow"]), /reasons\[0\]: "too slow" must be \{ code, message \}/);
  refused(check({ code: "x", message: "y" }), /reasons: \{.*\} must be an array/);
  // a code made up in a harness namespace read as the device lacking something (not
  // covered): a run in which every case said so tested nothing and exited 0
  refused(
    check([{ code: "limits.made-up", message: "x" }, { code: "dtype.whatever", message: "y" }]),
    /reasons\[0\]\.code: "limits\.made-up" must be a code the harness lists when it is in a harness namespace \(.*limits\.[^]*reasons\[1\]\.code: "dtype\.whatever" must be a code the harness lists/,
  );
  // the harness's own codes, and codes in a namespace of the backend's own, are taken
  const unsupported = (code: string) =>
    checkSupportAnswer(
      { ...naive.check(query(null)), reasons: [{ code, message: "x" }] },
      ABSORBED,
      query(null),
      "mine.ts",
    ).reasons[0].code;
  assert.equal(unsupported("limits.buffer-too-large"), "limits.buffer-too-large");
  assert.equal(unsupported("mine.too-big"), "mine.too-big");
  assert.equal(unsupported("limitsx.made-up"), "limitsx.made-up");
});

Deno.test("every bad field is named once, with one message, in the contract's terms", () => {
  const q = query(LAVAPIPE_CAPS);
  const answer = {
    ...GOOD,
    variant: {
      ...GOOD.variant,
      workgroupSize: -1.5,
      subgroups: "yes",
      unrolledLoops: 1,
      family: 7,
    },
    buffers: [{ name: "x", bytes: 4 }, null, { name: "x", bytes: NaN }],
    keyWidth: Infinity,
  };
  assert.throws(() => checkSupportAnswer(answer, ABSORBED, q, "mine.ts"), (e: unknown) => {
    assert.ok(e instanceof BackendAnswerError, String(e));
    assert.deepEqual(e.issues.map((i) => `${i.path}: ${JSON.stringify(i.value)}`).sort(), [
      "buffers[1]: null",
      'buffers[2].bytes: "NaN"',
      'buffers[2].name: "x"',
      'keyWidth: "Infinity"',
      "variant.family: 7",
      'variant.subgroups: "yes"',
      "variant.unrolledLoops: 1",
      "variant.workgroupSize: -1.5",
    ]);
    assert.match(e.message, /variant\.unrolledLoops: 1 must be true or false when set/);
    assert.match(e.message, /variant\.subgroups: "yes" must be true or false when set/);
    assert.match(e.message, /buffers\[2\]\.name: "x" is listed twice/);
    return true;
  });
});

Deno.test("widths other than the path's (the harness's buffer rows) are refused", () => {
  // keyWidth 8 was planned and run: the kernel read 8 of each 40-element cache row and the
  // case failed parity with nothing saying why (the harness's combine and texture passes
  // size rows by these widths too)
  const q = query(LAVAPIPE_CAPS);
  refused(
    () => checkSupportAnswer({ ...GOOD, keyWidth: 8 }, ABSORBED, q, "mine.ts"),
    /keyWidth: 8 must be 40 on the absorbed path \(kv_lora_rank 32 \+ qk_rope_head_dim 8: a row of kvCache/,
  );
  refused(
    () => checkSupportAnswer({ ...GOOD, valueWidth: 16 }, ABSORBED, q, "mine.ts"),
    /valueWidth: 16 must be 32 on the absorbed path \(kv_lora_rank 32/,
  );
  // the expanded path: K rows of nope + rope, V rows of v_head_dim (tiny: 16 + 8, 16)
  const expanded = BUNDLED_BACKENDS["wgsl-expanded"].check(q);
  const EXPANDED = { id: "mine", path: "expanded" as const };
  assert.ok(checkSupportAnswer(expanded, EXPANDED, q, "mine.ts"));
  refused(
    () => checkSupportAnswer({ ...expanded, keyWidth: 40, valueWidth: 32 }, EXPANDED, q, "mine.ts"),
    /keyWidth: 40 must be 24 on the expanded path \(qk_nope_head_dim 16 \+ qk_rope_head_dim 8[^]*valueWidth: 32 must be 16 on the expanded path \(v_head_dim 16/,
  );
});

Deno.test("a supported plan that is not JSON data is refused, not a case error", () => {
  // a bigint or a cycle in the variant made every case an error "TypeError: Do not know how
  // to serialize a BigInt (at runner/run_case.ts:333)", naming neither backend nor module;
  // NaN and a function were dropped from the plan digest without a word
  const q = query(LAVAPIPE_CAPS);
  const cyclic: Record<string, unknown> = { depth: 1 };
  cyclic.self = cyclic;
  const answer = {
    ...GOOD,
    variant: { ...GOOD.variant, tile: 10n, tiles: [1, NaN], pick: () => 1, cyclic, at: new Map() },
    buffers: [...GOOD.buffers, { name: "extra", bytes: 4, rows: Infinity }],
  };
  assert.throws(() => checkSupportAnswer(answer, ABSORBED, q, "mine.ts"), (e: unknown) => {
    assert.ok(e instanceof BackendAnswerError, String(e));
    assert.deepEqual(e.issues.map((i) => `${i.path}: ${i.value}`), [
      "variant.tile: 10n (a bigint: JSON cannot write it)",
      "variant.tiles[1]: NaN (JSON writes it as null)",
      "variant.pick: (a function: JSON leaves it out)",
      "variant.cyclic.self: (a cycle)",
      "variant.at: (a Map: not an array or a plain object)",
      "buffers[2].rows: Infinity (JSON writes it as null)",
    ]);
    assert.match(e.message, /^backend mine \(module mine\.ts\): check\(\) broke/);
    assert.match(e.message, /must be JSON data \(a finite number, a string, true or false, null/);
    return true;
  });
  // a reason is recorded with the result, supported or not: a bigint in one stopped the run
  // with "cannot write the result ...: Do not know how to serialize a BigInt ... free space"
  const refusing = naive.check(query(null));
  refused(
    () =>
      checkSupportAnswer(
        { ...refusing, reasons: [{ code: "mine.nope", message: "refused", detail: 10n }] },
        ABSORBED,
        query(null),
        "mine.ts",
      ),
    /reasons\[0\]\.detail: "10n \(a bigint: JSON cannot write it\)" must be JSON data/,
  );
  // an optional field left undefined is no problem; a field the schema names is named once
  assert.ok(
    checkSupportAnswer(
      { ...GOOD, variant: { ...GOOD.variant, decodeStep: undefined } },
      ABSORBED,
      q,
    ),
  );
  refused(
    () =>
      checkSupportAnswer(
        { ...GOOD, variant: { ...GOOD.variant, queryTile: NaN } },
        ABSORBED,
        q,
        "mine.ts",
      ),
    /^(?![^]*variant\.queryTile[^]*variant\.queryTile)[^]*variant\.queryTile: "NaN" must be a positive/,
  );
});

Deno.test("a check that throws is refused naming the backend, not an internal error", () => {
  const b = {
    ...BUNDLED_BACKENDS["wgsl-absorbed"],
    id: "mine",
    check: (): never => {
      throw new TypeError("cannot read properties of null (reading 'limits')");
    },
  };
  refused(
    () => askBackend(b, query(null), "mine.ts"),
    // what it threw, where, and on which question (the load-time one has no device)
    /check: "TypeError: cannot read.* \(at .*backend_answer_test\.ts:\d+:\d+\)" was thrown when asked about tiny, f32, caps null \(no device: the load-time check\): .*never throw/,
  );
});

Deno.test("a check that changes its query throws there; the harness's layout stays", () => {
  // `layout.seqs.sort(...)` to find the longest sequence reordered the harness's own layout:
  // every varlen case then failed parity as if the kernel were wrong
  const q = {
    ...query(LAVAPIPE_CAPS),
    layout: normalizeLayout({
      kind: "bshd",
      batch: 3,
      seqQ: 1,
      seqK: 20,
      kvLens: [5, 20, 9],
      causal: true,
    }),
  };
  const order = q.layout.seqs.map((x) => x.kLen);
  const sorts = {
    ...BUNDLED_BACKENDS["wgsl-absorbed"],
    id: "mine",
    check: (x: SupportQuery) => {
      (x.layout.seqs as unknown as { kLen: number }[]).sort((a, b) => b.kLen - a.kLen);
      return naive.check(x);
    },
  };
  refused(
    () => askBackend(sorts, q, "mine.ts"),
    /check: "TypeError: .*read.only.* \(the query is read-only: check\(\) must not change it; copy what it sorts or edits\) \(at .*backend_answer_test\.ts:\d+:\d+\)"/,
  );
  assert.deepEqual(q.layout.seqs.map((x) => x.kLen), order, "the harness's layout unchanged");
  const scales = {
    ...sorts,
    check: (x: SupportQuery) => {
      (x.spec as { softmaxScale: number }).softmaxScale *= 2;
      return naive.check(x);
    },
  };
  const scale = q.spec.softmaxScale;
  refused(() => askBackend(scales, q, "mine.ts"), /read-only/);
  assert.equal(q.spec.softmaxScale, scale);
  // a check that only reads is answered as before (its loop helpers still work)
  assert.deepEqual(askBackend({ ...sorts, check: naive.check }, q, "mine.ts"), naive.check(q));
});

Deno.test("resolve() checks a registered user backend's answer, naming its module", () => {
  const base = BUNDLED_BACKENDS["wgsl-absorbed"];
  registerBackend({
    ...base,
    id: "test-answer-path",
    check: (q) => ({ ...base.check(q), path: "expanded" }),
  }, { module: "/tmp/x/path.ts" });
  const req = {
    spec: presetSpec("tiny"),
    dtype: "f32" as const,
    backend: "test-answer-path",
    layout: { kind: "bshd" as const, batch: 1, seqQ: 1, seqK: 8, causal: true },
  };
  assert.throws(
    () => resolve(req, LAVAPIPE_CAPS),
    /^BackendAnswerError: backend test-answer-path \(module \/tmp\/x\/path\.ts\): [^]*path: "expanded" must be "absorbed"/,
  );
  // the bundled backends answer as before
  assert.equal(resolve({ ...req, backend: "wgsl-absorbed" }, LAVAPIPE_CAPS).kind, "plan");
});

Deno.test("a module's id and files are checked on load, naming the module", () => {
  assert.throws(
    () => validateBackendModule({ ...naive, id: "Bad Id!" }, "x.ts"),
    /^ConfigError: x\.ts: not a backend module\n\s+id: "Bad Id!" must match/,
  );
  assert.throws(() => validateBackendModule({ ...naive, id: "auto" }, "x.ts"), /id: "auto"/);
  for (const f of ["/etc/passwd", "../../x", "a/../../x", "%2e%2e/x", "file:///etc/passwd", ""]) {
    assert.throws(
      () => validateBackendModule({ ...naive, files: [f] }, "x.ts"),
      /x\.ts: not a backend module\n\s+files\[0\]: .* must be a file next to the module or below/,
      f,
    );
  }
  for (const f of ["naive.wgsl", "wgsl/k.wgsl", "a.b/c..wgsl"]) {
    assert.equal(validateBackendModule({ ...naive, files: [f] }, "x.ts").id, "naive", f);
  }
  // explain prints the description after the id: "" printed nothing, a line break started
  // lines of explain's output that were not explain's
  for (const d of ["", "  ", "first\nsecond", "a\r\nb"]) {
    assert.throws(
      () => validateBackendModule({ ...naive, description: d }, "x.ts"),
      /x\.ts: not a backend module\n\s+description: .* must be one line of text \(not empty, no line break\)/,
      JSON.stringify(d),
    );
  }
});

/** A module that re-exports the naive example with `check` answering `answer`. */
function moduleSource(id: string, answer: string, extra = ""): string {
  return [
    `import * as naive from ${JSON.stringify(NAIVE_URL)};`,
    "export const contractVersion = 1;",
    `export const id = ${JSON.stringify(id)};`,
    `export const description = "test: ${id}";`,
    'export const path = "absorbed";',
    extra,
    "// deno-lint-ignore no-explicit-any",
    `export function check(q: any): any { const a = naive.check(q); return ${answer}; }`,
    "export const launch = naive.launch;",
  ].join("\n");
}

Deno.test("CLI: a module whose check answers badly is exit 2 naming it, no stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_answer_test_" });
  try {
    const cases: [string, string, RegExp][] = [
      ["empty", "{}", /reasons: \(missing\) must be an array/],
      ["async", "Promise.resolve(a)", /\(answer\): "\(a Promise\)" must be the answer itself/],
      ["other-path", '{ ...a, path: "expanded" }', /path: "expanded" must be "absorbed"/],
      [
        "negative-wg",
        "{ ...a, variant: { ...a.variant, workgroupSize: -5 } }",
        /variant\.workgroupSize: -5 must be a positive integer/,
      ],
      [
        "empty-reason",
        '{ ...a, reasons: [{ code: "", message: "" }] }',
        /reasons\[0\]\.code: "" must be a code[^]*reasons\[0\]\.message: "" must be/,
      ],
    ];
    for (const [id, answer, want] of cases) {
      const file = `${dir}/${id}.ts`;
      await Deno.writeTextFile(file, moduleSource(id, answer));
      const r = await runCli([
        "explain",
        "tiny",
        "--caps",
        CAPS_FILE,
        "--backend-module",
        file,
        "--backend",
        id,
      ]);
      assert.equal(r.code, 2, `${id}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `^error: backend ${id} \\(module ${file}\\): check\\(\\) broke the backend contract`,
        ),
        id,
      );
      assert.match(r.stderr, want, id);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, `${id}: no stack trace`);
      assert.doesNotMatch(r.stdout, /^plan:/m, `${id}: no plan printed`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI: a bad id or files export is exit 2 naming the module file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_answer_test_" });
  try {
    await Deno.writeTextFile(`${dir}/bad_id.ts`, moduleSource("Bad Id!", "a"));
    const id = await runCli([
      "explain",
      "tiny",
      "--no-device",
      "--backend-module",
      `${dir}/bad_id.ts`,
    ]);
    assert.equal(id.code, 2, id.stderr);
    assert.match(
      id.stderr,
      new RegExp(`${dir}/bad_id\\.ts: not a backend module\\n\\s+id: "Bad Id!"`),
    );
    await Deno.writeTextFile(
      `${dir}/files.ts`,
      moduleSource("outside", "a", 'export const files = ["/etc/passwd", "../../x"];'),
    );
    const files = await runCli([
      "explain",
      "tiny",
      "--no-device",
      "--backend-module",
      `${dir}/files.ts`,
    ]);
    assert.equal(files.code, 2, files.stderr);
    assert.match(files.stderr, /files\[0\]: "\/etc\/passwd" must be a file next to the module/);
    assert.match(files.stderr, /files\[1\]: "\.\.\/\.\.\/x" must be a file next to the module/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a relative module path read in the harness's folder (deno task) says so", async () => {
  // `cd my-backend && deno task harness run --backend-module mod.ts`: deno task runs in the
  // harness's folder, so the harness's own mod.ts was read and every export was "missing"
  const root = new URL("../", import.meta.url);
  const before = Deno.cwd();
  const tmp = await Deno.makeTempDir();
  try {
    Deno.chdir(root);
    const hint = (name: string) =>
      new RegExp(
        `\\(module\\): "${name}" was read as ${root.pathname}${name}: a relative path is read ` +
          "from the current folder, here the harness's own .*`deno task`",
      );
    await assert.rejects(() => loadBackendModule("mod.ts"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^mod\.ts: not a backend module\n {2}contractVersion: \(missing\)/);
      assert.match(e.message, hint("mod.ts"));
      return true;
    });
    await assert.rejects(() => loadBackendModule("no_such_backend.ts"), (e: unknown) => {
      assert.match(String(e), /could not be loaded: Module not found/);
      assert.match(String(e), hint("no_such_backend.ts"));
      return true;
    });
    // an absolute path, or a relative one from another folder, is read where it says
    for (const [at, name] of [[root, `${tmp}/none.ts`], [tmp, "none.ts"]] as const) {
      Deno.chdir(at);
      await assert.rejects(() => loadBackendModule(name), (e: unknown) => {
        assert.match(String(e), /could not be loaded: Module not found/);
        assert.doesNotMatch(String(e), /was read as/);
        return true;
      });
    }
  } finally {
    Deno.chdir(before);
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a folder given as the module names the module file in it", async () => {
  // it was Deno's "[ERR_UNSUPPORTED_DIR_IMPORT] Directory import ... is not supported"
  const dir = new URL("../examples/backends/naive", import.meta.url).pathname;
  await assert.rejects(() => loadBackendModule(dir), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.match(
      e.message,
      new RegExp(
        `could not be loaded: it is a folder: give the module file in it \\(${dir}/mod\\.ts\\)$`,
      ),
    );
    return true;
  });
  const empty = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => loadBackendModule(`${empty}/`),
      /could not be loaded: it is a folder: give the module file in it$/,
    );
  } finally {
    await Deno.remove(empty);
  }
});

Deno.test("a .wgsl kernel given as the module says so (it was a TypeScript syntax error in it)", async () => {
  const wgsl = new URL("../examples/backends/naive/naive.wgsl", import.meta.url).pathname;
  await assert.rejects(
    () => loadBackendModule(wgsl),
    /could not be loaded: it is a WGSL kernel, not a backend module: give the \.ts \(or \.js\) module that launches it and lists it in its files export/,
  );
  // a missing one is missing
  await assert.rejects(
    () => loadBackendModule(`${wgsl}.none.wgsl`),
    /could not be loaded: Module not found/,
  );
  // a matrix file: Deno's "Attempted to load JSON module without specifying "type"..."
  const matrix = new URL("../matrix/bundled/smoke.json", import.meta.url).pathname;
  await assert.rejects(
    () => loadBackendModule(matrix),
    /could not be loaded: it is a JSON file, not a backend module: give the \.ts \(or \.js\) module that exports the backend \(docs\/backends\.md\); a matrix goes to --matrix$/,
  );
});

Deno.test("one module file under two names is loaded once", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "mla_answer_test_" }));
  try {
    await Deno.writeTextFile(`${dir}/twice.ts`, moduleSource("test-twice", "a"));
    await Deno.symlink(`${dir}/twice.ts`, `${dir}/link.ts`);
    const a = await loadBackendModule(`${dir}/twice.ts`);
    assert.equal(await loadBackendModule(`${dir}//twice.ts`), a);
    assert.equal(await loadBackendModule(`${dir}/./twice.ts`), a);
    assert.equal(await loadBackendModule(`${dir}/link.ts`), a);
    const r = await runCli([
      "explain",
      "tiny",
      "--no-device",
      "--backend-module",
      `${dir}/twice.ts`,
      "--backend-module",
      `${dir}//twice.ts`,
      "--backend",
      "test-twice",
    ]);
    assert.equal(r.code, 3, r.stderr); // device.none: the module loaded once and answered
    assert.doesNotMatch(r.stderr, /already registered/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the tiled kernels' grid must fit one dimension: explain said supported where run failed", () => {
  // tiny (4 heads), 256 sequences of 4096 queries: 64-query tiles x 4 heads = 65536 workgroups
  const req = (backend: string) => ({
    spec: presetSpec("tiny"),
    dtype: "f32" as const,
    backend,
    layout: { kind: "bshd" as const, batch: 256, seqQ: 4096, seqK: 16, causal: false },
  });
  for (const backend of ["wgsl-expanded-tiled", "wgsl-absorbed-tiled"]) {
    const r = resolve(req(backend), H100_CAPS);
    assert.equal(r.kind, "unsupported", backend);
    if (r.kind !== "unsupported") continue;
    const grid = r.reasons.find((x) => x.code === "limits.workgroups");
    assert.ok(grid, `${backend}: ${JSON.stringify(r.reasons)}`);
    assert.match(
      grid.message,
      /workgroups along one dimension .* over maxComputeWorkgroupsPerDimension 65535/,
    );
  }
  // a quarter of it fits
  const small = { ...req("wgsl-expanded-tiled"), layout: { ...req("x").layout, batch: 64 } };
  assert.equal(resolve(small, H100_CAPS).kind, "plan");
});
