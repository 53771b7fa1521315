// The HTML reports in a real browser: headless Chromium (browser/, over CDP) opens a small
// run report and a benchmark report written from fixtures, and the test checks what a reader
// sees: no console errors, nothing fetched, the plots with their marks, the planted failure
// at the top, the case filter. Without Chromium the test is ignored, saying how to get it.
import assert from "node:assert/strict";
import { CHROMIUM_INSTALL_COMMAND, findChromium, launchChromium } from "../browser/chromium.ts";
import { Page } from "../browser/page.ts";
import { runReportHtml } from "../report/html/mod.ts";
import { benchReportHtml } from "../bench/bench_html.ts";
import {
  BENCH_FIXTURE_CROSSOVER_POINTS,
  BENCH_FIXTURE_ROOFLINE_POINTS,
  benchFixture,
  PLANTED_ID_B,
  RUN_FIXTURE_HEADROOM_POINTS,
  runFixture,
} from "./report_html_fixtures.ts";
import { report, result, withTempDir } from "./report_util.ts";

function chromiumPath(): string | null {
  try {
    return findChromium(undefined).path;
  } catch {
    return null;
  }
}

const chromium = chromiumPath();
const why = chromium === null
  ? ` (ignored: no Chromium found; install it with \`${CHROMIUM_INSTALL_COMMAND}\` or set CHROME_PATH)`
  : "";

/** Opens a file in a fresh page; collects console errors, exceptions and requests. */
async function open(
  browser: Awaited<ReturnType<typeof launchChromium>>,
  path: string,
  width = 1200,
) {
  const page = await Page.open(browser);
  const logErrors: string[] = [];
  const requests: string[] = [];
  browser.cdp.on("Log.entryAdded", (p) => {
    const e = p.entry as { level: string; text: string };
    if (e.level === "error") logErrors.push(e.text);
  }, page.sessionId);
  browser.cdp.on("Network.requestWillBeSent", (p) => {
    requests.push(String((p.request as { url: string }).url));
  }, page.sessionId);
  await page.send("Log.enable");
  await page.send("Network.enable");
  await page.send("Emulation.setDeviceMetricsOverride", {
    width,
    height: 900,
    deviceScaleFactor: 1,
    mobile: false,
  });
  const url = new URL(path, "file:///").href;
  await page.navigate(url);
  const errors = () => [
    ...logErrors,
    ...page.messages.filter((m) => m.level === "error" || m.level === "exception")
      .map((m) => m.text),
  ];
  return { page, errors, requests: () => requests.filter((r) => r !== url) };
}

const count = (chart: string, mark: string) =>
  `document.querySelectorAll('figure[data-chart="${chart}"] g.mark-${mark}.role-mark path').length`;

Deno.test({
  name:
    `html in Chromium: no console errors, plots with their marks, the planted failure on top, ` +
    `no sideways scroll at 400 px${why}`,
  ignore: chromium === null,
  fn: async () => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/run.html`, await runReportHtml(runFixture()));
      await Deno.writeTextFile(`${dir}/bench.html`, await benchReportHtml(benchFixture()));
      const browser = await launchChromium(chromium!);
      try {
        const run = await open(browser, `${dir}/run.html`);
        // the points, and a ring around each side of the planted failure
        assert.equal(
          await run.page.evaluate(count("headroom", "symbol")),
          RUN_FIXTURE_HEADROOM_POINTS + 2,
        );
        // the first thing in the page body is the failures section, led by the planted fault,
        // and it is on screen without scrolling, above the plot
        const top = await run.page.evaluate(`(() => {
          const first = document.querySelector("main > section");
          const card = document.querySelector(".failure");
          const plot = document.querySelector('figure[data-chart="headroom"]');
          return { section: first.id, id: card.dataset.id,
            cardTop: card.getBoundingClientRect().top, plotTop: plot.getBoundingClientRect().top,
            height: innerHeight };
        })()`) as { section: string; id: string; cardTop: number; plotTop: number; height: number };
        assert.equal(top.section, "failures");
        assert.match(top.id, new RegExp(`;b=${PLANTED_ID_B};`));
        assert.ok(top.cardTop < top.height && top.cardTop < top.plotTop, JSON.stringify(top));
        // the filter: "b=2,3" leaves two rows, and opens the group holding them
        const filtered = await run.page.evaluate(`(() => {
          const box = document.getElementById("case-filter");
          box.value = "b=2,3";
          box.dispatchEvent(new Event("input"));
          const shown = [...document.querySelectorAll("tr[data-id]")].filter((r) => !r.hidden);
          const open = [...document.querySelectorAll("details.group")].filter((d) => d.open);
          return { rows: shown.length, open: open.map((d) => d.dataset.group) };
        })()`);
        assert.deepEqual(filtered, { rows: 2, open: ["tiny: decode"] });
        assert.deepEqual(run.errors(), []);
        assert.deepEqual(run.requests(), []);
        await run.page.close();

        // A page cut for its size cap: the groups without rows on it (a block each, and the
        // table of such groups past another cut) cannot be searched. They stayed on screen under
        // any query, as if they matched, or hid silently, as if nothing of them did.
        const cutPage = async (name: string, html: string) => {
          await Deno.writeTextFile(`${dir}/${name}`, html);
          const cut = await open(browser, `${dir}/${name}`);
          const seen = await cut.page.evaluate(`(() => {
            const box = document.getElementById("case-filter");
            const look = () => ({
              bare: [...document.querySelectorAll("table.bare-groups")].filter((t) =>
                t.offsetParent !== null).length,
              groups: [...document.querySelectorAll("details.group")].filter((d) => !d.hidden)
                .length,
              count: document.getElementById("filter-count").textContent,
            });
            box.value = "b=1"; box.dispatchEvent(new Event("input"));
            const on = look();
            box.value = ""; box.dispatchEvent(new Event("input"));
            return { on, off: look() };
          })()`) as Record<"on" | "off", { bare: number; groups: number; count: string }>;
          assert.deepEqual(cut.errors(), []);
          await cut.page.close();
          return seen;
        };
        const fixture = runFixture();
        const bare = await cutPage("bare.html", await runReportHtml(fixture, { maxBytes: 1000 }));
        const unsearched =
          /^\d+ of \d+ cases on this page; hidden: \d+ groups without rows on it, not searched \(results\.jsonl has every case\)$/;
        assert.equal(bare.on.bare, 0);
        assert.equal(bare.off.bare, 1);
        assert.match(bare.on.count, unsearched);
        assert.equal(bare.off.count, "");
        const blocks = await cutPage(
          "blocks.html",
          await runReportHtml(fixture, { maxBytes: 28_000 }),
        );
        assert.equal(blocks.on.bare + blocks.off.bare, 0);
        assert.match(blocks.on.count, unsearched);
        assert.ok(blocks.off.groups > blocks.on.groups, JSON.stringify(blocks));

        const bench = await open(browser, `${dir}/bench.html`);
        assert.equal(
          await bench.page.evaluate(count("roofline", "symbol")),
          BENCH_FIXTURE_ROOFLINE_POINTS,
        );
        assert.equal(
          await bench.page.evaluate(count("crossover", "symbol")),
          BENCH_FIXTURE_CROSSOVER_POINTS,
        );
        assert.deepEqual(bench.errors(), []);
        assert.deepEqual(bench.requests(), []);
        await bench.page.close();

        // A case id with a long config path (`run --matrix m.json` whose preset is a file in
        // nested folders): its unbroken path set the id column's least width, 60em, and at
        // 1200 px the case table scrolled sideways, its message column squeezed off screen to
        // a word a line, each row 300 px tall.
        const path = "a_really_long_folder_name_for_configs_that_users_do_make/" +
          "another_level_of_nesting_here/deepseek_v2_lite_chat_finetuned_v0.3.1_final.json";
        const long = report([1, 2].map((b) => result({ preset: path, b })));
        await Deno.writeTextFile(`${dir}/long.html`, await runReportHtml(long));
        const wide = await open(browser, `${dir}/long.html`, 1200);
        const tables = await wide.page.evaluate(`(() => {
          document.querySelectorAll("details").forEach((d) => { d.open = true; });
          return [...document.querySelectorAll("details.group table")].map((t) =>
            ({ scroll: t.scrollWidth, box: t.clientWidth }));
        })()`) as { scroll: number; box: number }[];
        assert.ok(tables.length > 0, "a case table");
        for (const t of tables) assert.ok(t.scroll <= t.box, `sideways: ${JSON.stringify(t)}`);
        await wide.page.close();

        // At 400 px the page does not scroll sideways: long header facts and commands wrap,
        // tables scroll in their own box (the run page was 702 px wide)
        for (const name of ["run.html", "bench.html"]) {
          const view = await open(browser, `${dir}/${name}`, 400);
          // every group open, as a reader filtering them sees their tables
          const widths = await view.page.evaluate(`(() => {
            document.querySelectorAll("details").forEach((d) => { d.open = true; });
            return { page: document.documentElement.scrollWidth, view: innerWidth };
          })()`) as { page: number; view: number };
          assert.ok(widths.page <= widths.view, `${name}: ${JSON.stringify(widths)}`);
          await view.page.close();
        }
      } finally {
        await browser.close();
      }
    });
  },
});
