// How a bench report says its replays were spaced (kernels/replay.ts): the terminal table's
// "case replays" line and summary.md's sentence, from each record's `replay` and
// `warmup_ms`, on the hand-made report of report_html_fixtures.ts.
import assert from "node:assert/strict";
import { formatTable, toMarkdown } from "../bench/report.ts";
import type { BenchRecord } from "../bench/run_bench.ts";
import type { ReplayMode } from "../gpu/timing.ts";
import { benchFixture } from "./report_html_fixtures.ts";

/** The fixture with every ok record's replay spacing and warm-up set. */
function spaced(replay: ReplayMode | undefined, warmupMs: number | undefined) {
  const report = benchFixture();
  const records: BenchRecord[] = report.records.map((r) =>
    r.status === "ok" ? { ...r, replay, warmup_ms: warmupMs } : r
  );
  return { ...report, records };
}

const replayLine = (text: string) => text.split("\n").find((l) => l.startsWith("case replays"));

Deno.test("bench report: queued replays after a warm-up are said so in the table and summary.md", () => {
  const r = spaced("queued", 500);
  assert.equal(
    replayLine(formatTable(r)),
    "case replays: queued back to back, after 500 ms of untimed replays",
  );
  assert.match(
    toMarkdown(r, { title: "t" }),
    /Kernel times by timestamp-query, replays queued back to back, after 500 ms of untimed replays; median/,
  );
});

Deno.test("bench report: waited replays without a warm-up name no warm-up", () => {
  const r = spaced("waited", 0);
  assert.equal(
    replayLine(formatTable(r)),
    "case replays: each submitted after the last one's readback",
  );
  const md = toMarkdown(r, { title: "t" });
  assert.match(md, /replays each submitted after the last one's readback; median/);
  assert.doesNotMatch(md, /untimed replays/);
});

Deno.test("bench report: records of both spacings name both; a report before session 30 names none", () => {
  const mixed = benchFixture();
  const records = mixed.records.map((r, i) =>
    r.status === "ok" ? { ...r, replay: (i % 2 === 0 ? "queued" : "waited") as ReplayMode } : r
  );
  assert.match(
    replayLine(formatTable({ ...mixed, records })) ?? "",
    /^case replays: (queued back to back or each submitted after the last one's readback|each submitted after the last one's readback or queued back to back)$/,
  );
  const old = spaced(undefined, undefined);
  assert.equal(replayLine(formatTable(old)), undefined);
  assert.match(toMarkdown(old, { title: "t" }), /Kernel times by timestamp-query; median/);
});

// The table and summary.md never said how many timed repetitions a median was of (only a
// warning below 7): a reader of a default bench could not tell 7 from 50.
Deno.test("bench report: the timed repetitions a case's median is of are said", () => {
  const withSamples = (n: (i: number) => number) => {
    const r = spaced("waited", 0);
    const records = r.records.map((x, i) =>
      x.status === "ok" ? { ...x, samples: Array.from({ length: n(i) }, () => 1) } : x
    );
    return { ...r, records };
  };
  const seven = withSamples(() => 7);
  assert.equal(
    replayLine(formatTable(seven)),
    "case replays: 7 timed repetitions a case, each submitted after the last one's readback",
  );
  assert.match(
    toMarkdown(seven, { title: "t" }),
    /readback; median of the 7 timed repetitions of each case, spread min-max\./,
  );
  const one = withSamples(() => 1);
  assert.match(replayLine(formatTable(one)) ?? "", /^case replays: 1 timed repetition a case, /);
  // records of a resumed bench hold the same count; a hand-joined report may not
  const mixed = withSamples((i) => (i === 0 ? 2 : 7));
  assert.match(replayLine(formatTable(mixed)) ?? "", /^case replays: 2-7 timed repetitions a case/);
});
