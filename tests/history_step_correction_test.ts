// Steps of many series tested at once (history's --correction, default Benjamini-Hochberg):
// tested one by one at 0.05, a few percent of pure-noise series had a step, so a nightly
// failing on steps over a large filter failed most nights; corrected, noise flags none, a
// real step among 2,000 series is still found, and one series alone is tested as before.
import assert from "node:assert/strict";
import { benjaminiHochberg } from "../drift/stats.ts";
import { correctedStepOptions, heldSteps, HistoryStore } from "../drift/history.ts";
import { detectSteps } from "../drift/step_detect.ts";
import { makePrng } from "../util/prng.ts";
import { caseResult, reportOf } from "./drift_helpers.ts";
import { runCli } from "./helpers_cli.ts";

const noise = (n: number, spread: number, rng: ReturnType<typeof makePrng>) =>
  Array.from({ length: n }, () => 1 + spread * rng.normal());

Deno.test("benjaminiHochberg: the largest p(k) <= alpha k / m, or 0", () => {
  assert.equal(benjaminiHochberg([0.001, 0.2, 0.5, 0.9], 0.05), 0.001);
  assert.equal(benjaminiHochberg([0.02, 0.2, 0.5, 0.9], 0.05), 0);
  // step-up: p(2) = 0.024 <= 0.05 * 2 / 4 passes, so p(1) = 0.02 does too
  assert.equal(benjaminiHochberg([0.9, 0.024, 0.02, 0.5], 0.05), 0.024);
  assert.equal(benjaminiHochberg([], 0.05), 0);
});

Deno.test("history steps corrected: noise series flag none; one +30% step among 2,000 series is found", () => {
  const rng = makePrng(5, "correction-test");
  // 300 noise series of 10 nights (5% spread): alone, some have a "step"; corrected, none
  const night = Array.from({ length: 300 }, () => noise(10, 0.05, rng));
  const alone = correctedStepOptions(night, { correction: "none" }).stepOptions;
  assert.ok(night.filter((xs) => detectSteps(xs, alone).length > 0).length >= 3);
  const held = heldSteps(night);
  assert.equal(held.stepTest.correction, "benjamini-hochberg");
  assert.equal(held.stepTest.searches, 300);
  assert.equal(night.filter((xs) => held.steps(xs).length > 0).length, 0);
  // 2,000 series of 24 nights (1% spread), the 7th slower by 30% from night 13
  const many = Array.from({ length: 2000 }, () => noise(24, 0.01, rng));
  many[7] = many[7].map((v, i) => i >= 12 ? v * 1.3 : v);
  const big = heldSteps(many);
  assert.equal(big.stepTest.searches, 2000);
  assert.ok(big.stepTest.threshold > 0 && big.stepTest.threshold <= 0.05 / 2000);
  const flagged = many.flatMap((xs, i) => big.steps(xs).length > 0 ? [i] : []);
  assert.deepEqual(flagged, [7]);
  assert.equal(big.steps(many[7])[0].index, 12);
});

Deno.test("history steps corrected: one series alone is tested as it always was", () => {
  const rng = makePrng(9, "correction-single");
  for (let i = 0; i < 20; i++) {
    const xs = noise(12, 0.05, rng);
    const held = heldSteps([xs]);
    assert.equal(held.stepTest.correction, "none");
    assert.deepEqual(held.steps(xs), detectSteps(xs));
  }
});

Deno.test("history --fail-on-step over many noise cases: exit 0 corrected, 1 with --correction none; the text says how it tested", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const rng = makePrng(3, "correction-cli");
    const ids = Array.from(
      { length: 40 },
      (_, k) => `preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=${k + 1};layout=bshd;causal=1`,
    );
    const values = ids.map(() => noise(10, 0.05, rng));
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 10; night++) {
        const day = String(night + 1).padStart(2, "0");
        const results = ids.map((id, k) => {
          const r = caseResult(id, values[k][night], night * 100 + k);
          return { ...r, timing: { ...r.timing!, medianMs: values[k][night] } };
        });
        await store.append(
          reportOf(results, {
            startedAt: `2026-01-${day}T02:00:00.000Z`,
            endedAt: `2026-01-${day}T02:01:00.000Z`,
          }),
          { backend: "vulkan" },
        );
      }
    } finally {
      store.close();
    }
    const plain = await runCli(["history", "--db", db, "--fail-on-step", "--correction", "none"]);
    assert.equal(plain.code, 1, "noise alone: some series has a step");
    const r = await runCli(["history", "--db", db, "--fail-on-step", "--html", `${dir}/h.html`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // the page's Steps fact says the level too (it said "p < 0.05" alone)
    assert.match(
      await Deno.readTextFile(`${dir}/h.html`),
      /tested across 41 series at once \(Benjamini-Hochberg, false-discovery rate 0\.05\): none passed, a lone step p &lt;= 0\.0012/,
    );
    assert.match(
      r.stdout,
      /^steps tested across 41 series at once \(Benjamini-Hochberg, false-discovery rate 0\.05\): no series passed[^\n]*a lone step among them needs p <= 0\.0012, which takes at least \d+ runs/,
    );
    const json = await runCli(["history", "--db", db, "--json"]);
    const first = JSON.parse(json.stdout)[0];
    assert.equal(first.stepTest.correction, "benjamini-hochberg");
    assert.equal(first.stepTest.searches, 41);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history --min-change above 1: only steps of that ratio (1: a doubling) are flagged; 0 and words are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = `${dir}/history.sqlite`;
    const ids = ["sk=20", "sk=30"].map((sk) =>
      `preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;${sk};layout=bshd;causal=1`
    );
    const store = await HistoryStore.open(db);
    try {
      for (let night = 0; night < 12; night++) {
        const day = String(night + 1).padStart(2, "0");
        // from night 7 the first case takes twice as long, the second 50% longer
        const ms = [night >= 6 ? 2 : 1, night >= 6 ? 1.5 : 1].map((v, k) =>
          v * (1 + 0.002 * ((night * 7 + k * 3) % 5))
        );
        const results = ids.map((id, k) => {
          const r = caseResult(id, ms[k], night * 10 + k);
          return { ...r, timing: { ...r.timing!, medianMs: ms[k] } };
        });
        await store.append(
          reportOf(results, {
            startedAt: `2026-01-${day}T02:00:00.000Z`,
            endedAt: `2026-01-${day}T02:01:00.000Z`,
          }),
          { backend: "vulkan" },
        );
      }
    } finally {
      store.close();
    }
    const all = await runCli(["history", "--db", db, "--json"]);
    assert.deepEqual(
      JSON.parse(all.stdout).map((s: { steps: unknown[] }) => s.steps.length),
      [1, 1, 1],
      all.stderr,
    );
    const r = await runCli(["history", "--db", db, "--json", "--min-change", "1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).map((s: { caseId: string; steps: unknown[] }) => s.steps.length),
      [1, 0, 0],
    );
    for (const bad of ["0", "-1", "lots", "", "0x10", "1e999"]) {
      const b = await runCli(["history", "--db", db, "--min-change", bad]);
      assert.equal(b.code, 2, `${bad}: ${b.stdout}`);
      assert.match(b.stderr, /must be a relative change above 0/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("history steps corrected: where many series step, p is not resolved past what their level needs", () => {
  // 80 series of 30 nights, every one +30% from night 16 (an upgrade moved every case): the
  // level is alpha k / 80 with k = 80, so the 1999 shuffles every search gets suffice (each p
  // a multiple of 1 / 2000); resolving each to 0.05 / 80 took 3x the time on a year of nights
  const rng = makePrng(11, "correction-many");
  const all = Array.from(
    { length: 80 },
    () => noise(30, 0.01, rng).map((v, i) => i >= 15 ? v * 1.3 : v),
  );
  const held = heldSteps(all);
  assert.ok(held.stepTest.threshold >= 0.0005, String(held.stepTest.threshold));
  for (const xs of all) {
    const [step] = held.steps(xs);
    assert.equal(step.index, 15);
    assert.equal(Math.round(step.p * 2000), step.p * 2000, `p ${step.p}`);
  }
});

Deno.test("baseline update --from-report --history says what became of the run, as run --history does (twice: not added again)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const report = reportOf([caseResult(
      "preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=20;layout=bshd;causal=1",
      1,
      1,
    )]);
    await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(report));
    const args = [
      "baseline",
      "update",
      "--from-report",
      `${dir}/report.json`,
      "--dir",
      `${dir}/baselines`,
      "--history",
      `${dir}/h.sqlite`,
      "--replace",
    ];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^history: run 1 appended to .*h\.sqlite$/m);
    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /^history: .*report\.json is already run 1 of .*h\.sqlite; not added again$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
