// `run --baseline` lists the regressed cases on the console up to MAX_REGRESSION_LINES and
// counts the rest, naming the files that hold every case: a nightly whose every case moved
// printed one line per case.
import assert from "node:assert/strict";
import { driftAfterRun, MAX_REGRESSION_LINES } from "../drift/after_run.ts";
import {
  baselineOf,
  caseResult,
  reportOf,
  samples,
  supportedCase,
  timing,
} from "./drift_helpers.ts";
import { currentBackend } from "../drift/device_key.ts";

// The baseline of the device `run --baseline` keys these reports with: this process's backend
// (the reports' fingerprint records none). A Vulkan baseline on a fresh machine's GL fallback
// made each compare one across two devices, whose speed regressions are not counted.
const THIS_DEVICE = {
  deviceKey: `llvmpipe-65541-${currentBackend()}`,
  backend: currentBackend(),
};

const id = (i: number) => `preset=tiny;path=absorbed;dtype=f32;b=2;sq=1;sk=${20 + i};layout=bshd`;

/** The console lines of driftAfterRun, for `n` cases that each run 5x slower. */
async function linesFor(n: number): Promise<{ lines: string[]; regressions: number }> {
  const dir = await Deno.makeTempDir({ prefix: "mla_after_run_lines_" });
  const base = Array.from({ length: n }, (_, i) =>
    supportedCase(id(i), {
      planDigest: "p" + id(i).length,
      outputDigest: "o" + id(i).length,
      timing: timing(samples(1, 10, i + 1)),
    }));
  await Deno.writeTextFile(`${dir}/b.json`, JSON.stringify(baselineOf(base, THIS_DEVICE)));
  const report = reportOf(Array.from({ length: n }, (_, i) => caseResult(id(i), 5, i + 1)));
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const { regressions } = await driftAfterRun(report, { baseline: `${dir}/b.json`, out: dir });
    return { lines, regressions };
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("run --baseline: regressed cases listed up to the cap, the rest counted", async () => {
  const few = await linesFor(3);
  assert.equal(few.regressions, 3);
  assert.equal(few.lines.filter((l) => l.startsWith("  speed-regression: ")).length, 3);
  assert.ok(!few.lines.some((l) => l.includes("more regressions")));

  const n = MAX_REGRESSION_LINES + 7;
  const many = await linesFor(n);
  assert.equal(many.regressions, n, "every case still counts");
  const listed = many.lines.filter((l) => l.startsWith("  speed-regression: "));
  assert.equal(listed.length, MAX_REGRESSION_LINES);
  assert.match(
    many.lines.at(-1)!,
    /^ {2}… and 7 more regressions \(every case in .*compare\.json and compare\.html\)$/,
  );
  assert.match(many.lines[0], new RegExp(`${n} regressions; details in`));
});
