// compare-runtimes' logic on two scripted devices (no GPU, no browser): bit-identical
// outputs are 0 ULP, a nudged element is found with its distance and index, and a case that
// runs in one runtime and errors in the other (a compile failure) is a finding carrying both
// messages. Plus the ULP arithmetic on hand-picked float32 neighbours.
import assert from "node:assert/strict";
import { readCapsFile } from "../adapter/caps_file.ts";
import type { AttentionInputs, DeviceCaps, GpuPlan, MlaSpec } from "../adapter/types.ts";
import { orderedF32, ulpDiff, ulpDistance } from "../parity/ulp.ts";
import { absorbedAttention, denseAttention } from "../reference/attention.ts";
import {
  compareRuntimes,
  ComparisonStopped,
  type RuntimeLateGpuError,
} from "../runner/compare_runtimes.ts";
import { GpuContext, hasAdapter } from "../gpu/device.ts";
import { loadBackendModule } from "../kernels/backend_module.ts";
import type { RemoteDevice, RemoteRun } from "../gpu/runtime.ts";
import { runCli } from "./helpers_cli.ts";
import { lockOutDir } from "../runner/out_lock.ts";
import {
  caseLine,
  CaseStream,
  comparisonJson,
  comparisonMarkdown,
  comparisonTotals,
  comparisonVerdict,
  removeEarlierComparison,
  totalsText,
  ulpWords,
  unusedInRuntimes,
} from "../cli/compare_runtimes.ts";
import type { CaseResult } from "../results/types.ts";

Deno.test("ulp: neighbours are 1 apart, signed zeros equal, NaN against a number infinite", () => {
  const one = 1;
  const next = Math.fround(1 + 2 ** -23); // the float32 right after 1
  assert.equal(ulpDistance(one, next), 1);
  assert.equal(ulpDistance(-one, -next), 1);
  // across zero: the smallest subnormals on both sides are 2 apart (via +-0)
  const tiny = 2 ** -149;
  assert.equal(ulpDistance(tiny, -tiny), 2);
  assert.equal(ulpDistance(0, -0), 0);
  assert.equal(orderedF32(-0), 0);
  assert.equal(ulpDistance(NaN, NaN), 0);
  assert.equal(ulpDistance(NaN, 0), Infinity);
  assert.equal(ulpDistance(Infinity, Infinity), 0);
  // an overflow in one runtime is no rounding step: the largest finite float32 read 1 ulp
  // from +Infinity
  assert.equal(ulpDistance(3.4028234663852886e38, Infinity), Infinity);
  assert.equal(ulpDistance(-Infinity, Infinity), Infinity);
  assert.equal(ulpDistance(-Infinity, -Infinity), 0);
  const d = ulpDiff(new Float32Array([1, 2, 3]), new Float32Array([1, 2, Math.fround(3)]));
  assert.deepEqual(d, { maxUlp: 0, worstIndex: null, worstValues: null, differing: 0, total: 3 });
  assert.throws(() => ulpDiff([1], [1, 2]), /cannot compare 1 values with 2/);
});

Deno.test("ulp words: a NaN against an infinity says so, not 'against a number'", () => {
  assert.equal(ulpWords(Infinity, [NaN, 0.5]), "NaN against a number");
  assert.equal(ulpWords(Infinity, [Infinity, NaN]), "NaN against an infinity");
  assert.equal(ulpWords(Infinity, [NaN, -Infinity]), "NaN against an infinity");
  assert.equal(ulpWords(Infinity, [1, -Infinity]), "an infinity against a number");
  assert.equal(ulpWords(Infinity, [Infinity, -Infinity]), "infinities of opposite sign");
});

/** A device that computes the float64 reference and rounds it to float32 (optionally altered). */
function scriptedDevice(
  name: string,
  caps: DeviceCaps,
  behave: (out: Float32Array, plan: GpuPlan) => void,
): RemoteDevice {
  const run = (plan: GpuPlan, spec: MlaSpec, inputs: AttentionInputs): RemoteRun => {
    // the reference as the harness's check computes it (the inputs as a kernel of the plan's
    // dtype holds them), so a scripted "kernel" errs by nothing in f16 as in f32: the float64
    // inputs' answer misses the f16 absorbed tolerance (cos_diff 7.9e-8 against 1.6e-9)
    const ref = (plan.reference === "dense" ? denseAttention : absorbedAttention)(
      spec,
      plan.layout,
      { inputs, storedAs: plan.variant.dtype },
    );
    const out = Float32Array.from(ref.out);
    behave(out, plan);
    return {
      outputs: { out, lse: Float32Array.from(ref.lse) },
      samplesMs: [],
      source: "none",
      scope: "all",
      outsideCoreMs: null,
    };
  };
  return {
    runtime: "chromium",
    caps,
    identity: { name, version: "test", path: "/none", userAgent: "test", adapterInfo: {} },
    lost: false,
    destroy: () => {},
    reacquire: () => Promise.resolve(),
    close: () => Promise.resolve(),
    runAttention: (plan, o) => Promise.resolve(run(plan, o.spec, o.inputs)),
    runLayer: () => Promise.reject(new Error("no layer cases in this test")),
  };
}

const filter = "preset=tiny;dtype=f32;layout=bshd;causal=1;sq=4";

Deno.test("compareRuntimes: ULP distances with the index, and compile findings with both messages", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const same = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: scriptedDevice("b", caps, () => {}),
  });
  assert.ok(same.length >= 2, `cases: ${same.length}`);
  for (const c of same) {
    assert.equal(c.deno.status, "pass", c.deno.message);
    assert.equal(c.bits?.out.maxUlp, 0);
    assert.equal(c.bits?.lse.maxUlp, 0);
    assert.equal(c.finding, null);
  }
  // one element 3 float32 steps away in the second runtime, at index 5
  const nudged = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: scriptedDevice("b", caps, (out) => {
      const f = new Float32Array([out[5]]);
      const u = new Int32Array(f.buffer);
      u[0] += out[5] >= 0 ? 3 : -3;
      out[5] = f[0];
    }),
  });
  for (const c of nudged) {
    assert.equal(c.bits?.out.maxUlp, 3, c.id);
    assert.equal(c.bits?.out.worstIndex, 5);
    assert.equal(c.bits?.out.differing, 1);
    assert.equal(c.bits?.lse.maxUlp, 0);
  }
  // the expanded path does not compile in the second runtime: a finding, both messages
  const failing = scriptedDevice("b", caps, () => {});
  const broken: RemoteDevice = {
    ...failing,
    runAttention: (plan, o) => {
      if (plan.path === "expanded") {
        const e = new Error("expanded.wgsl: validation error: Tint: 'x' unresolved (test)");
        e.name = "GpuScopeError";
        return Promise.reject(e);
      }
      return failing.runAttention(plan, o);
    },
  };
  const found = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: broken,
  });
  const expanded = found.filter((c) => c.id.includes("path=expanded"));
  const absorbed = found.filter((c) => c.id.includes("path=absorbed"));
  assert.ok(expanded.length > 0 && absorbed.length > 0);
  for (const c of expanded) {
    assert.equal(c.chromium.status, "error");
    assert.equal(c.bits, null);
    assert.match(c.finding ?? "", /^runs in deno, errors in chromium: chromium: GpuScopeError: /);
    assert.match(c.finding ?? "", /Tint: 'x' unresolved \(test\) \| deno: ok: /);
  }
  for (const c of absorbed) assert.equal(c.finding, null);
});

Deno.test("compareRuntimes: a case one device cannot cover (no shader-f16) is no finding", async () => {
  const withF16 = await readCapsFile(
    new URL("./fixtures/caps_lavapipe.json", import.meta.url).pathname,
  );
  const noF16 = await readCapsFile(
    new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname,
  );
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter: "preset=tiny;dtype=f16;layout=bshd;causal=1;sq=4",
    deno: scriptedDevice("a", withF16, () => {}),
    chromium: scriptedDevice("b", noF16, () => {}),
  });
  assert.ok(cases.length > 0);
  for (const c of cases) {
    assert.equal(c.deno.decision, "supported");
    assert.equal(c.chromium.decision, "unsupported");
    assert.match(c.chromium.message, /dtype\.f16-unavailable/);
    assert.equal(c.bits, null);
    assert.equal(c.finding, null);
  }
  // the same under --backend: its refusal for what the device lacks ("not run by --backend
  // wgsl-absorbed: dtype.f16-unavailable") was "support differs", a finding, exit 1
  const forced = await compareRuntimes({
    matrix: "smoke",
    filter: "preset=tiny;dtype=f16;layout=bshd;causal=1;sq=4;path=absorbed",
    backend: "wgsl-absorbed",
    deno: scriptedDevice("a", withF16, () => {}),
    chromium: scriptedDevice("b", noF16, () => {}),
  });
  assert.ok(forced.length > 0);
  for (const c of forced) {
    assert.match(c.chromium.message, /^not run by --backend wgsl-absorbed: dtype\.f16-unavailable/);
    assert.equal(c.chromium.notCovered, true);
    assert.equal(c.finding, null);
    assert.match(caseLine(c, 1, 1), /chromium not covered \(device\)/);
  }
  assert.equal(comparisonTotals(forced).notCovered, forced.length);
  assert.equal(comparisonTotals(forced).findings, 0);
});

Deno.test("compare-runtimes CLI: a bad --matrix or --filter is exit 2 before either runtime starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // No browser at that path: before the check, this was exit 3 (no Chromium) after
    // Deno's adapter had started; now the selection is refused first.
    const common = ["--chromium", `${dir}/no-chromium`, "--out", `${dir}/out`];
    const [matrix, filter, mod] = await Promise.all([
      runCli(["compare-runtimes", "--matrix", "nope", ...common]),
      runCli(["compare-runtimes", "--filter", "preset=nope", ...common]),
      // a module that does not load: exit 2 naming it, as run says it (it was refused as
      // "loads no backend module" whatever it was)
      runCli(["compare-runtimes", "--backend-module", `${dir}/my.ts`, ...common]),
    ]);
    assert.equal(mod.code, 2, mod.stdout + mod.stderr);
    assert.match(mod.stderr, /my\.ts: not a backend module/);
    assert.equal(matrix.code, 2, matrix.stdout + matrix.stderr);
    assert.match(matrix.stderr, /nope: unreadable matrix.*bundled matrices: smoke/s);
    assert.equal(filter.code, 2, filter.stdout + filter.stderr);
    assert.match(filter.stderr, /--filter: selects no case of matrix smoke/);
    // an unknown --backend, and a module by URL (the page bundles a local file): exit 2
    const [unknown, remote, bench] = await Promise.all([
      runCli(["compare-runtimes", "--backend", "nope", ...common]),
      runCli(["compare-runtimes", "--backend-module", "https://example.com/m.ts", ...common]),
      // a bench matrix's name read "cannot be read (... readfile 'headline')"
      runCli(["compare-runtimes", "--matrix", "headline", ...common]),
    ]);
    assert.equal(bench.code, 2, bench.stdout + bench.stderr);
    assert.match(
      bench.stderr,
      /--matrix headline: a bench matrix \(`bench --matrix headline` runs it\), not a run matrix; compare-runtimes reads a run matrix: smoke, nightly, adapter/,
    );
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /"nope" is not a registered backend; registered: wgsl-absorbed/);
    assert.equal(remote.code, 2, remote.stdout + remote.stderr);
    assert.match(
      remote.stderr,
      /--backend-module https:\/\/example\.com\/m\.ts: compare-runtimes runs it in Chromium too, so a backend module must be a local file/,
    );
    assert.doesNotMatch(remote.stderr, /--runtime/, "compare-runtimes takes no --runtime");
    // and its help says so (it said "a path, or a URL under `deno run -A main.ts`")
    const help = (await runCli(["compare-runtimes", "--help"])).stdout.replace(/\s+/g, " ");
    assert.match(help, /--backend-module <path> load a backend module \(a local file, bundled/);
    assert.match(help, /: a URL is exit 2; repeatable\)/);
    assert.doesNotMatch(help, /or a URL under/);
    for (const r of [matrix, filter, mod, unknown, remote, bench]) {
      assert.doesNotMatch(
        r.stdout + r.stderr,
        /runtime: deno|runtime: chromium|no-chromium: no such file/,
      );
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "no --out folder");
    // a --matrix file that is one of the outputs: exit 2, the file kept (it was overwritten
    // by the report)
    await Deno.mkdir(`${dir}/cr`);
    const m = `${dir}/cr/compare-runtimes.json`;
    const text = JSON.stringify({ name: "m", groups: [{ axes: { preset: "tiny" } }] });
    await Deno.writeTextFile(m, text);
    const over = await runCli([
      "compare-runtimes",
      "--matrix",
      m,
      ...common.slice(0, 2),
      "--out",
      `${dir}/cr`,
    ]);
    assert.equal(over.code, 2, over.stdout + over.stderr);
    assert.match(
      over.stderr,
      /--out \(compare-runtimes\.json\) .*: is .*compare-runtimes\.json, which --matrix reads: writing it would destroy an input/,
    );
    assert.equal(await Deno.readTextFile(m), text);
    // an output file that is a folder: exit 2 naming it, before either runtime starts (it was
    // an internal error with a stack trace once both had started)
    const fake = `${dir}/chrome`;
    await Deno.writeTextFile(fake, "#!/bin/sh\nexit 1\n");
    await Deno.chmod(fake, 0o755);
    await Deno.mkdir(`${dir}/busy/compare-runtimes.jsonl/x`, { recursive: true });
    const folder = await runCli([
      "compare-runtimes",
      "--chromium",
      fake,
      "--out",
      `${dir}/busy`,
    ]);
    assert.equal(folder.code, 2, folder.stdout + folder.stderr);
    assert.match(
      folder.stderr,
      /--out \(compare-runtimes\.jsonl\) .*compare-runtimes\.jsonl: is a folder; give a file path/,
    );
    assert.doesNotMatch(folder.stdout + folder.stderr, /runtime: deno|internal error/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compareRuntimes: a browser that dies or hangs in a case is lost, no finding", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const healthy = scriptedDevice("b", caps, () => {});
  // the browser dies in the first expanded case, as when Chromium is killed mid-run
  let dead = false;
  let reacquired = 0;
  let calls = 0;
  const dying: RemoteDevice = {
    ...healthy,
    get lost() {
      return dead;
    },
    reacquire: () => {
      dead = false;
      reacquired++;
      return Promise.resolve();
    },
    runAttention: (plan, o) => {
      if (calls++ === 0) {
        dead = true;
        return Promise.reject(new Error("CdpError: the browser connection closed"));
      }
      return healthy.runAttention(plan, o);
    },
  };
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: dying,
  });
  const [first, ...rest] = cases;
  assert.equal(first.chromium.status, "error");
  assert.equal(first.finding, null, "a lost browser is not a compiler difference");
  assert.match(first.lost ?? "", /^chromium: the browser or its device was lost during the case/);
  assert.match(first.lost ?? "", /the browser connection closed/);
  assert.equal(reacquired, 1);
  for (const c of rest) assert.equal(c.lost, undefined, c.id);
  // a browser that dies between cases (killed while Deno ran the next case) is found dead
  // before the case: it read "lost during the case", then the case was run on the dead
  // browser and lost; it is now started again first, and the case compared
  let died = false;
  let runs = 0;
  const between: RemoteDevice = {
    ...healthy,
    get lost() {
      return died;
    },
    reacquire: () => {
      died = false;
      return Promise.resolve();
    },
    runAttention: (plan, o) => {
      if (died) return Promise.reject(new Error("CdpError: the browser connection closed"));
      return healthy.runAttention(plan, o);
    },
  };
  const killedAfterFirst = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: {
      ...scriptedDevice("a", caps, () => {}),
      runAttention: (plan, o) => {
        if (runs++ === 1) died = true; // Deno's run of the second case
        return healthy.runAttention(plan, o);
      },
    },
    chromium: between,
  });
  assert.ok(killedAfterFirst.length >= 2);
  assert.equal(killedAfterFirst[0].lost, undefined);
  assert.equal(killedAfterFirst[1].lost, undefined);
  assert.equal(killedAfterFirst[1].chromium.status, "pass");
  assert.ok(killedAfterFirst[1].bits, "compared");
  assert.equal(
    killedAfterFirst[1].restarted,
    `chromium: the browser or its device was lost after case ${
      killedAfterFirst[0].id
    }, found before this one, and started again before it ran`,
  );
  assert.match(
    caseLine(killedAfterFirst[1], 2, killedAfterFirst.length),
    /\n {4}restarted: chromium: the browser or its device was lost after case /,
  );
  assert.equal(killedAfterFirst[0].restarted, undefined);
  const restartMd = comparisonMarkdown(killedAfterFirst, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "smoke",
  });
  assert.ok(
    restartMd.includes(
      `## Runtimes started again before a case\n\n- ${killedAfterFirst[1].id}: chromium: the ` +
        "browser or its device was lost after case",
    ),
    restartMd,
  );
  // a case that never settles: timed out, lost, and the next case runs on a fresh browser
  const hanging: RemoteDevice = {
    ...healthy,
    runAttention: () => new Promise<never>(() => {}),
  };
  const hung = await compareRuntimes({
    matrix: "smoke",
    filter,
    caseTimeoutMs: 50,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: hanging,
  });
  assert.equal(hung.length, cases.length);
  for (const c of hung) {
    assert.equal(c.finding, null);
    assert.match(c.lost ?? "", /^chromium: timed out after 0\.05 s in chromium$/);
    assert.deepEqual(c.lostIn, ["chromium"]);
  }
  // a lost case is the machine's, counted apart: it was a reference failure too ("reference
  // failures: deno 0, chromium 1; ...; lost devices or timeouts 1")
  const totals = totalsText(comparisonTotals(cases));
  assert.match(totals, /reference failures: deno 0, chromium 0; .*; lost devices or timeouts 1 /);
  assert.equal(comparisonTotals(hung).chromiumBad, 0);
  assert.equal(comparisonTotals(hung).lost, hung.length);
});

Deno.test("compare-runtimes.md: a case one device cannot cover reads so, as on the console, and the totals and filter are there", async () => {
  const withF16 = await readCapsFile(
    new URL("./fixtures/caps_lavapipe.json", import.meta.url).pathname,
  );
  const noF16 = await readCapsFile(
    new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname,
  );
  const filter = "preset=tiny;dtype=f16;layout=bshd;causal=1;sq=4";
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: scriptedDevice("a", withF16, () => {}),
    chromium: scriptedDevice("b", noF16, () => {}),
  });
  const md = comparisonMarkdown(cases, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "smoke",
    filter,
  });
  assert.ok(md.startsWith(`# compare-runtimes: smoke (filter \`${filter}\`)\n`), md);
  const rows = md.split("\n").filter((l) => l.startsWith("| preset="));
  assert.equal(rows.length, cases.length);
  for (const [i, row] of rows.entries()) {
    // it read "pass unsupported", as if Chromium had run and passed the case
    assert.ok(row.includes("| not covered (device) |"), row);
    assert.ok(caseLine(cases[i], 1, 1).includes("chromium not covered (device)"));
  }
  // the console's totals, which the file lacked
  const totals = totalsText(comparisonTotals(cases));
  assert.ok(md.includes(`**${totals}**`), md);
  assert.match(
    totals,
    new RegExp(`^${cases.length} cases?: 0 compared, .*not covered by one device ${cases.length}$`),
  );
  // nothing compared: it said "0 bit-identical; max ULP out 0, lse 0", as outputs that agree
  assert.match(totals, /: 0 compared, no outputs of both runtimes to measure in ULPs; /);
  assert.doesNotMatch(totals, /max ULP|bit-identical/);
  // cut short by a signal: the cases that ran are counted as the console counts them ("ran");
  // "N of M selected cases compared" contradicted the totals' "0 compared" under it
  const cut = comparisonMarkdown(cases, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "smoke",
    filter,
    interrupted: { signal: "SIGTERM", selected: cases.length + 1, notRun: ["x"] },
  });
  assert.ok(
    cut.includes(
      `**Interrupted by SIGTERM: ${cases.length} of ${cases.length + 1} selected cases ran; ` +
        "1 not run**",
    ),
    cut,
  );
  assert.ok(!cut.includes("selected cases compared"), cut);
  // every case a coverage gap: nothing compared, exit 0 and no word but "0 compared" before
  const nothing = `Nothing was compared: ${
    cases.length === 1 ? "the 1 case is" : `each of the ${cases.length} cases is`
  } one a runtime's device does not cover (not covered in chromium ${cases.length}, in deno 0`;
  assert.ok(md.includes(`**${nothing}`), md);
  const verdict = comparisonVerdict(cases, { backendRanNothing: false });
  assert.equal(verdict.exitCode, 2);
  assert.ok(`N${verdict.nothing?.slice(1)}`.startsWith(nothing), verdict.nothing ?? "null");
  // a signal before the cases both devices cover: no such word (the cases may not be reached)
  assert.ok(!cut.includes("Nothing was compared"), cut);
  // one case compared among them: a comparison, exit 0; a failure stands over it: 1
  const same = ulpDiff([1], [1]);
  const one = [...cases, { ...cases[0], id: "x", bits: { out: same, lse: same } }];
  assert.deepEqual(comparisonVerdict(one, { backendRanNothing: false }), {
    exitCode: 0,
    nothing: null,
  });
  assert.ok(
    !comparisonMarkdown(one, { deno: "d", chromium: "c", sameDriver: false, matrix: "m" })
      .includes("Nothing was compared"),
  );
  assert.equal(comparisonVerdict(cases, { backendRanNothing: true }).exitCode, 1);
  // a case refused alike in both (the adapter's decision): no kernel ran, nothing compared
  // either; a failure says what went wrong itself (exit 1, no such line)
  const refused = {
    ...cases[0].deno,
    decision: "unsupported" as const,
    message: "sk: 20 is no multiple of 64",
    notCovered: undefined,
  };
  const alike = [...cases, { ...cases[0], id: "y", deno: refused, chromium: refused }];
  const mixed = comparisonVerdict(alike, { backendRanNothing: false });
  assert.equal(mixed.exitCode, 2);
  assert.match(
    mixed.nothing ?? "",
    new RegExp(
      `^nothing was compared: of the ${alike.length} cases, ${cases.length} ${
        cases.length === 1 ? "is one" : "are ones"
      } a runtime's device does not cover \\(not covered in chromium ${cases.length}, in deno 0\\) and 1 was refused alike in both runtimes, no kernel run`,
    ),
  );
  const failed = [...cases, {
    ...cases[0],
    id: "z",
    chromium: { ...cases[0].deno, status: "error" as const, message: "boom" },
  }];
  assert.deepEqual(comparisonVerdict(failed, { backendRanNothing: false }), {
    exitCode: 1,
    nothing: null,
  });
  assert.ok(
    !comparisonMarkdown(failed, { deno: "d", chromium: "c", sameDriver: false, matrix: "m" })
      .includes("Nothing was compared"),
  );
  // and the help says it
  const help = (await runCli(["compare-runtimes", "--help"])).stdout.replace(/\s+/g, " ");
  assert.match(
    help,
    /a comparison that compared nothing: no case run in both runtimes, each one a runtime's device does not cover or refused alike in both/,
  );
});

Deno.test("compareRuntimes: abandon stops in the case under way, which is left out (SIGTERM, a second Ctrl-C)", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const healthy = scriptedDevice("b", caps, () => {});
  const atOnce = new AbortController();
  let calls = 0;
  // the second case hangs in Chromium; the signal comes while it does
  const hanging: RemoteDevice = {
    ...healthy,
    runAttention: (plan, o) => {
      if (++calls === 2) {
        queueMicrotask(() => atOnce.abort());
        return new Promise<never>(() => {});
      }
      return healthy.runAttention(plan, o);
    },
  };
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter,
    // not abandoned, the hung case would time out and the comparison go on to the rest
    caseTimeoutMs: 2000,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: hanging,
    abandon: atOnce.signal,
  });
  assert.equal(cases.length, 1, "the first case, not the abandoned one");
  assert.equal(cases[0].lost, undefined);
});

Deno.test("compareRuntimes --backend: every case on it in both runtimes, recorded per runtime; one of the other path not run by it", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const results: { deno: CaseResult[]; chromium: CaseResult[] } = { deno: [], chromium: [] };
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter,
    backend: "wgsl-expanded",
    deno: scriptedDevice("a", caps, () => {}),
    chromium: scriptedDevice("b", caps, () => {}),
    onResults: (r) => {
      results.deno.push(r.deno);
      results.chromium.push(r.chromium);
    },
  });
  assert.equal(results.deno.length, cases.length);
  const expanded = cases.filter((c) => c.id.includes("path=expanded"));
  const absorbed = cases.filter((c) => c.id.includes("path=absorbed"));
  assert.ok(expanded.length > 0 && absorbed.length > 0);
  for (const c of expanded) {
    assert.equal(c.deno.backend, "wgsl-expanded", c.id);
    assert.equal(c.chromium.backend, "wgsl-expanded", c.id);
    assert.equal(c.bits?.out.maxUlp, 0);
  }
  for (const c of absorbed) {
    // before, the option did not exist and the adapter's absorbed backend ran these
    assert.equal(c.deno.decision, "unsupported", c.id);
    assert.match(c.deno.message, /^not run by --backend wgsl-expanded/);
    assert.equal(c.finding, null);
  }
  // it ran cases in both runtimes: nothing to say
  assert.deepEqual(
    unusedInRuntimes(results, { backend: "wgsl-expanded", modules: [] }).lines,
    [],
  );
  // only absorbed cases: it ran none, the comparison fails, said once for both runtimes
  const none = {
    deno: results.deno.filter((r) => r.id.includes("path=absorbed")),
    chromium: results.chromium.filter((r) => r.id.includes("path=absorbed")),
  };
  const u = unusedInRuntimes(none, { backend: "wgsl-expanded", modules: [] });
  assert.equal(u.backendRanNothing, true);
  assert.equal(u.lines.length, 1, u.lines.join("\n"));
  assert.match(
    u.lines[0],
    /^error: --backend wgsl-expanded (?:ran none of the \d+ cases|did not run the 1 case) expected/,
  );
  // ran in one runtime only: the other is named, and the comparison fails
  const one = unusedInRuntimes({ deno: results.deno, chromium: none.chromium }, {
    backend: "wgsl-expanded",
    modules: [],
  });
  assert.equal(one.backendRanNothing, true);
  assert.equal(one.lines.length, 1, one.lines.join("\n"));
  assert.match(
    one.lines[0],
    /^error: in chromium, --backend wgsl-expanded (?:ran none of the \d+ cases|did not run the 1 case) expected/,
  );
  // the markdown names the backend and the modules, as report.json does for run
  const md = comparisonMarkdown(cases, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "smoke",
    backend: "wgsl-expanded",
    backendModules: ["my/mod.ts", "/w/b.ts"],
    backendModulePaths: ["/w/my/mod.ts", "/w/b.ts"],
  });
  assert.match(md, /^- backend: wgsl-expanded \(--backend, every case in both\)$/m);
  // and where a module given by a relative path is (compare-runtimes.json records both)
  assert.match(
    md,
    /^- backend modules: my\/mod\.ts \(\/w\/my\/mod\.ts\), \/w\/b\.ts \(--backend-module\)$/m,
  );
});

Deno.test("compare-runtimes: a case that fails or errors in a runtime says why, on the console and in the .md", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const doubled = (out: Float32Array) => out.forEach((v, i) => out[i] = 2 * v + 1);
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter: `${filter};path=absorbed`,
    deno: scriptedDevice("a", caps, doubled),
    chromium: scriptedDevice("b", caps, doubled),
  });
  assert.ok(cases.length > 0);
  const c = cases[0];
  assert.equal(c.deno.status, "fail");
  assert.equal(c.finding, null);
  // before, the line said "deno fail | chromium fail" and no more, the .md the same
  const line = caseLine(c, 1, 1);
  assert.match(line, /\n {4}both fail: out: max abs err .*FAILED/);
  const md = comparisonMarkdown(cases, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "s",
  });
  assert.match(md, /\n## Reference failures and errors\n\n- preset=tiny;[^:]*: both fail: out: /);
  // each runtime's own message where they differ
  const split = caseLine(
    { ...c, chromium: { ...c.chromium, status: "error", message: "boom" } },
    1,
    1,
  );
  assert.match(split, /\n {4}deno fail: out: .*\n {4}chromium error: boom$/);
  // a pass in both: nothing more
  const ok = await compareRuntimes({
    matrix: "smoke",
    filter: `${filter};path=absorbed`,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: scriptedDevice("b", caps, () => {}),
  });
  assert.equal(caseLine(ok[0], 1, 1).split("\n").length, 2);
  assert.doesNotMatch(
    comparisonMarkdown(ok, { deno: "d", chromium: "c", sameDriver: false, matrix: "s" }),
    /Reference failures/,
  );
});

Deno.test("compareRuntimes: a device that cannot be re-acquired stops the comparison with the cases compared so far, which the .md names", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const healthy = scriptedDevice("b", caps, () => {});
  let calls = 0;
  let dead = false;
  // the browser dies in the second case and does not start again
  const dying: RemoteDevice = {
    ...healthy,
    get lost() {
      return dead;
    },
    reacquire: () => Promise.reject(new Error("ChromiumLaunchError: the browser did not start")),
    runAttention: (plan, o) => {
      if (++calls === 2) {
        dead = true;
        return Promise.reject(new Error("CdpError: the browser connection closed"));
      }
      return healthy.runAttention(plan, o);
    },
  };
  const seen: string[] = [];
  const e = await compareRuntimes({
    matrix: "smoke",
    filter,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: dying,
    onCase: (c) => seen.push(c.id),
  }).then(() => null, (x) => x);
  // before, the error left the caller nothing of the case compared
  assert.ok(e instanceof ComparisonStopped, String(e));
  assert.deepEqual(e.cases.map((c) => c.id), seen);
  assert.equal(e.cases.length, 1);
  assert.match(String((e.cause as Error).message), /the browser did not start/);
  const md = comparisonMarkdown(e.cases, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "smoke",
    stopped: {
      reason: "ChromiumLaunchError: the browser did not start",
      selected: 4,
      notRun: ["x", "y", "z"],
    },
  });
  assert.match(
    md,
    /\*\*Stopped: ChromiumLaunchError: the browser did not start: 1 of 4 selected cases ran; 3 not run\*\* \(x, y, z\)/,
  );
});

Deno.test("compare-runtimes CLI: an --out another comparison is writing is exit 2 naming it, its files kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // two CI jobs into one --out: each removed the other's files and wrote over them, both
    // exit 0, the .jsonl of one beside the .json of the other
    const fake = `${dir}/chrome`;
    await Deno.writeTextFile(fake, "#!/bin/sh\nexit 1\n");
    await Deno.chmod(fake, 0o755);
    const out = `${dir}/cr`;
    await Deno.mkdir(out);
    await Deno.writeTextFile(`${out}/compare-runtimes.jsonl`, "{}\n");
    const lock = await lockOutDir(out);
    try {
      const r = await runCli(["compare-runtimes", "--chromium", fake, "--out", out]);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`is being written by another run \\(process ${Deno.pid},`));
      assert.doesNotMatch(r.stdout + r.stderr, /runtime: deno|internal error/);
      assert.equal(await Deno.readTextFile(`${out}/compare-runtimes.jsonl`), "{}\n");
    } finally {
      await lock.release();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare-runtimes CLI: an upgrade-check's --out is exit 2 naming its sides, a bench's naming its records, before either runtime starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // compare-runtimes.md and .json were written beside the check's compare.md and sides
    const out = `${dir}/upgrade`;
    await Deno.mkdir(`${out}/from`, { recursive: true });
    await Deno.mkdir(`${out}/to`);
    await Deno.writeTextFile(`${out}/from/report.json`, "{}");
    await Deno.writeTextFile(`${out}/to/run.json`, "{}");
    await Deno.writeTextFile(`${out}/compare.md`, "# check\n");
    const r = await runCli(["compare-runtimes", "--chromium", `${dir}/none`, "--out", out]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `--out ${out}: holds an upgrade-check's output \\(its sides' runs: ${out}/from, ` +
          `${out}/to\\), beside whose compare\\.md`,
      ),
    );
    assert.doesNotMatch(r.stdout + r.stderr, /runtime: deno|no such file/);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort(),
      ["compare.md", "from", "to"],
    );
    // a bench's folder, killed halfway (its records alone) or finished: the same
    await Deno.mkdir(`${dir}/bench`);
    await Deno.writeTextFile(`${dir}/bench/records.jsonl`, "{}\n");
    const bench = await runCli([
      "compare-runtimes",
      "--chromium",
      `${dir}/none`,
      "--out",
      `${dir}/bench`,
    ]);
    assert.equal(bench.code, 2, bench.stdout + bench.stderr);
    assert.match(bench.stderr, /--out .*\/bench: holds records\.jsonl: a bench's output folder/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/bench`)].map((e) => e.name), ["records.jsonl"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare-runtimes: a NaN in one runtime against a number reads so on the console, in the .md and in the .json (no null)", async () => {
  const caps = await readCapsFile(new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname);
  const cases = await compareRuntimes({
    matrix: "smoke",
    filter: `${filter};path=absorbed`,
    deno: scriptedDevice("a", caps, () => {}),
    chromium: scriptedDevice("b", caps, (out) => out[2] = NaN),
  });
  assert.equal(cases.length, 1);
  const c = cases[0];
  assert.equal(c.bits?.out.maxUlp, Infinity);
  const line = caseLine(c, 1, 1);
  // it said "out Infinity ulp at 2/512", and the .md "Infinity (2)"
  assert.match(
    line,
    /out NaN against a number at 2\/\d+ \(deno -?\d[^,]*, chromium NaN\), lse 0 ulp/,
  );
  const md = comparisonMarkdown(cases, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "m",
  });
  assert.match(md, /\| NaN against a number \(2\) \| 0 \|/);
  assert.match(md, /max ULP out NaN against a number, lse 0;/);
  assert.doesNotMatch(line + md, /Infinity/);
  // JSON.stringify wrote null for both the distance and the NaN
  const json = comparisonJson({ totals: comparisonTotals(cases), cases });
  const back = JSON.parse(json);
  assert.equal(back.totals.maxUlpOut, "Infinity");
  assert.equal(back.cases[0].bits.out.maxUlp, "Infinity");
  assert.equal(back.cases[0].bits.out.worstValues[1], "NaN");
  // +Infinity against the largest finite float32 read "1 ulp"; +0 against -0 is bit-identical,
  // and the .md says so
  const inf = await compareRuntimes({
    matrix: "smoke",
    filter: `${filter};path=absorbed`,
    deno: scriptedDevice("a", caps, (out) => {
      out[3] = 3.4028234663852886e38;
      out[4] = 0;
    }),
    chromium: scriptedDevice("b", caps, (out) => {
      out[3] = Infinity;
      out[4] = -0;
    }),
  });
  assert.equal(inf[0].bits?.out.maxUlp, Infinity);
  assert.match(
    caseLine(inf[0], 1, 1),
    /out an infinity against a number at 3\/\d+ \(deno 3\.4028234663852886e\+38, chromium Infinity\)/,
  );
  const infMd = comparisonMarkdown(inf, {
    deno: "d",
    chromium: "c",
    sameDriver: false,
    matrix: "m",
  });
  assert.match(infMd, /\| an infinity against a number \(3\) \| 0 \|/);
  assert.match(infMd, /max ULP out an infinity against a number, lse 0;/);
  assert.match(infMd, /\+0 and -0 count as equal \(0 ULP\)/);
});

Deno.test("compare-runtimes: a headroom under 0.01 reads as run's summary.md gives it, not 0.000", () => {
  const side = (headroom: number) => ({
    status: "pass" as const,
    decision: "supported" as const,
    message: "ok",
    maxAbs: 1e-7,
    headroom,
  });
  const c = {
    id: "x",
    deno: side(4.04e-5),
    chromium: side(0.0398),
    bits: null,
    finding: null,
  };
  const line = caseLine(c, 1, 1);
  assert.match(line, /deno pass \(headroom 4\.0e-5\) \| chromium pass \(headroom 0\.040\)/);
  assert.match(
    comparisonMarkdown([c], { deno: "d", chromium: "c", sameDriver: false, matrix: "m" }),
    /\| pass \(headroom 4\.0e-5\) \|/,
  );
});

Deno.test("compare-runtimes: an earlier comparison's files removed as a new one starts are said, with the cases they held", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // a comparison killed halfway: its .jsonl went without a word
    await Deno.writeTextFile(`${dir}/compare-runtimes.jsonl`, '{"a":1}\n{"a":2}\n{"a":3}\n{"cut');
    const killed = await removeEarlierComparison(dir);
    assert.equal(
      killed,
      "note: --out held a comparison killed halfway (compare-runtimes.jsonl, 3 cases compared, " +
        "no compare-runtimes.json): removed as this one starts",
    );
    await assert.rejects(Deno.stat(`${dir}/compare-runtimes.jsonl`), Deno.errors.NotFound);
    // a finished one: its files named
    for (const f of ["compare-runtimes.json", "compare-runtimes.md"]) {
      await Deno.writeTextFile(`${dir}/${f}`, "{}");
    }
    await Deno.writeTextFile(`${dir}/compare-runtimes.jsonl`, '{"a":1}\n');
    assert.equal(
      await removeEarlierComparison(dir),
      "note: --out held an earlier comparison (compare-runtimes.json, compare-runtimes.md, " +
        "compare-runtimes.jsonl, 1 case compared): removed as this one starts",
    );
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // none: nothing said
    assert.equal(await removeEarlierComparison(dir), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compare-runtimes: a GPU error outside every case's error scope is in the .md and in the .jsonl a killed comparison keeps", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const caps = await readCapsFile(
      new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname,
    );
    const cases = await compareRuntimes({
      matrix: "smoke",
      filter,
      maxCases: 4,
      deno: scriptedDevice("a", caps, () => {}),
      chromium: scriptedDevice("b", caps, () => {}),
    });
    const late: RuntimeLateGpuError[] = [
      { runtime: "deno", afterCase: cases[0].id, message: "Buffer has been destroyed | x" },
      { runtime: "chromium", afterCase: null, message: "Destroyed buffer used in a submit." },
    ];
    // the .md said nothing of them (stderr and the .json only)
    const md = comparisonMarkdown(cases, {
      deno: "d",
      chromium: "c",
      sameDriver: false,
      matrix: "smoke",
      lateGpuErrors: late,
    });
    assert.ok(md.includes("**2 GPU errors arrived outside every case's error scope"), md);
    assert.ok(md.includes("\n## GPU errors outside every case's error scope\n"), md);
    assert.ok(
      md.includes(
        `- deno, after case ${cases[0].id} had started: Buffer has been destroyed \\| x\n`,
      ),
      md,
    );
    assert.ok(md.includes("- chromium, before any case: Destroyed buffer used in a submit."), md);
    assert.ok(
      !comparisonMarkdown(cases, { deno: "d", chromium: "c", sameDriver: false, matrix: "m" })
        .includes("error scope"),
    );
    // the .jsonl a comparison killed halfway leaves held its cases only
    const path = `${dir}/compare-runtimes.jsonl`;
    const stream = await CaseStream.open(path);
    stream.add(cases[0]);
    stream.addLate(late[0]);
    stream.add(cases[1]);
    stream.addLate(late[1]);
    await stream.close();
    const lines = (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.id ?? null), [cases[0].id, null, cases[1].id, null]);
    assert.deepEqual(lines[1], { lateGpuError: late[0] });
    assert.deepEqual(lines[3], { lateGpuError: late[1] });
    // and such a file, removed as a new comparison starts, counts its cases, not those lines
    assert.match(
      await removeEarlierComparison(dir) ?? "",
      /killed halfway \(compare-runtimes\.jsonl, 2 cases compared, /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "compareRuntimes: a pass a launch() left floating that lands after its case, on the " +
    "Deno device, is handed on with the case (it was lost: nothing listened for uncapturederror)",
  ignore: !(await hasAdapter()),
  sanitizeResources: false,
  fn: async () => {
    const caps = await readCapsFile(
      new URL("./fixtures/caps_no_f16.json", import.meta.url).pathname,
    );
    const fixture = "tests/fixtures/backends/launch_pass_after_case.ts";
    const { module } = await loadBackendModule(fixture);
    const ctx = await GpuContext.create();
    try {
      const late: RuntimeLateGpuError[] = [];
      const cases = await compareRuntimes({
        matrix: "smoke",
        filter: `${filter};path=absorbed`,
        maxCases: 1,
        backend: module.id,
        deno: ctx,
        chromium: scriptedDevice("b", caps, () => {}),
        onLateGpuError: (e) => late.push(e),
      });
      assert.equal(cases.length, 1);
      // the case itself was right: the floating pass landed once it had ended
      assert.equal(cases[0].deno.status, "pass", cases[0].deno.message);
      assert.deepEqual(late.map((e) => [e.runtime, e.afterCase]), [["deno", cases[0].id]]);
      assert.match(late[0].message, /destroyed/);
    } finally {
      ctx.destroy();
    }
  },
});
