/**
 * The page shell of every HTML report: one self-contained file (inline CSS, inline SVG
 * charts, a few lines of inline script for the case filter; no network), a header of
 * facts, then the sections in order.
 *
 * @module
 */
import { escapeHtml } from "./chart.ts";

/** Default size cap of a report (bytes): past it, passing cases lose their detail rows. */
export const DEFAULT_HTML_MAX_BYTES = 5 * 1024 * 1024;

/**
 * The first of a page's builds, each cut further than the one before, whose UTF-8 size is
 * within `maxBytes`; the last when none is (report.html and compare.html: every row, then
 * fewer). Each build runs only when the one before did not fit.
 *
 * @example
 * ```ts
 * import { firstWithin } from "./page.ts";
 * firstWithin(4, [() => "a long page", () => "cut", () => "-"]); // "cut"
 * firstWithin(1, [() => "a long page", () => "cut"]); // "cut"
 * ```
 */
export function firstWithin(maxBytes: number, builds: readonly (() => string)[]): string {
  const encoder = new TextEncoder();
  let html = "";
  for (const build of builds) {
    html = build();
    if (encoder.encode(html).length <= maxBytes) break;
  }
  return html;
}

/**
 * The note at the top of a page cut to its size cap: that `page` would exceed the cap, what
 * was left out (`what`, HTML), and where every case is (`where`, HTML).
 *
 * @example
 * ```ts
 * import { sizeNote } from "./page.ts";
 * sizeNote(5 * 1024 * 1024, { page: "page", what: "rows were left out", where: "x.json" });
 * // '<p class="note" id="size-note">This page would exceed 5.0 MiB, so rows were left out.
 * // Every case is in x.json.</p>'
 * ```
 */
export function sizeNote(
  cappedAt: number,
  text: { readonly page: string; readonly what: string; readonly where: string },
): string {
  return `<p class="note" id="size-note">This ${text.page} would exceed ${
    (cappedAt / 1024 / 1024).toFixed(1)
  } MiB, so ${text.what}. Every case is in ${text.where}.</p>`;
}

/** What {@link htmlPage} assembles. */
export interface PageParts {
  /** Title (also the `<h1>`). */
  readonly title: string;
  /** Header facts, in order: label and value (plain text). */
  readonly facts: readonly (readonly [string, string])[];
  /**
   * One line under the facts (plain text), e.g. the totals: green when `ok`, amber when `ok`
   * and `warn` (nothing failed, but not everything was verified), else red.
   */
  readonly verdict?: { readonly text: string; readonly ok: boolean; readonly warn?: boolean };
  /** Section HTML, already escaped, in page order. */
  readonly sections: readonly string[];
  /** Include the case filter script (pages with case tables). */
  readonly filter?: boolean;
}

/**
 * Assembles a complete HTML document.
 *
 * @example
 * ```ts
 * import { htmlPage } from "./page.ts";
 * const html = htmlPage({ title: "t", facts: [["Deno", "2.9.6"]], sections: ["<p>hi</p>"] });
 * html.startsWith("<!DOCTYPE html>"); // true
 * ```
 */
export function htmlPage(p: PageParts): string {
  const facts = p.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join("");
  const verdict = p.verdict
    ? `<p class="verdict ${p.verdict.ok ? (p.verdict.warn ? "warn" : "ok") : "bad"}" id="verdict">${
      escapeHtml(p.verdict.text)
    }</p>`
    : "";
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing may load from elsewhere: the file must open from a CI artifact, offline.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; ` +
    `style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
    `<title>${escapeHtml(p.title)}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<header><h1>${escapeHtml(p.title)}</h1><dl class="facts">${facts}</dl>${verdict}</header>`,
    "<main>",
    ...p.sections,
    "</main>",
    p.filter ? `<script>${FILTER_JS}</script>` : "",
    "</body></html>",
    "",
  ].join("\n");
}

/**
 * A case id for a table cell or heading: escaped, with a line-break opportunity (`<wbr>`)
 * after each `;`, so a narrow column wraps it between its keys instead of inside a word
 * (`preset=tin` / `y;path=abs`…). The text is unchanged (copying it gives the id).
 *
 * @example
 * ```ts
 * import { idHtml } from "./page.ts";
 * idHtml("preset=tiny;b=1"); // "preset=tiny;<wbr>b=1"
 * ```
 */
export function idHtml(id: string): string {
  return escapeHtml(id).replace(/;/g, ";<wbr>");
}

/**
 * A `<section>` with a heading.
 *
 * @example
 * ```ts
 * import { section } from "./page.ts";
 * section("plots", "Plots", "<p>x</p>"); // '<section id="plots"><h2>Plots</h2>\n<p>x</p></section>'
 * ```
 */
export function section(id: string, heading: string, body: string): string {
  return `<section id="${escapeHtml(id)}"><h2>${escapeHtml(heading)}</h2>\n${body}</section>`;
}

/**
 * Formats a number for a table cell: fixed in [0.01, 1e4), else exponential; "–" for
 * null/undefined. A figure of at most one decimal (`digits` 0 or 1: a rate, GFLOP/s or GB/s)
 * in [1e4, 1e7) is a whole number with thousands grouping: an H100's FMA peak reads "60,000
 * GFLOP/s", where it read "6.00e+4" (a headroom, an error keep their exponent and digits).
 *
 * @example
 * ```ts
 * import { num } from "./page.ts";
 * num(0.5); // "0.5000"
 * num(39898.2, 1); // "39,898"
 * num(3e-7); // "3.00e-7"
 * ```
 */
export function num(v: number | string | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (digits <= 1 && a >= 1e4 && a < 1e7) {
    return v.toLocaleString("en-US", { maximumFractionDigits: 0 });
  }
  return a >= 0.01 && a < 1e4 ? v.toFixed(digits) : v.toExponential(2);
}

/**
 * The case filter box: a text input whose `key=v1,v2;key2=v3` query hides the case rows
 * (`tr[data-id]`) whose id does not match and opens the groups that hold a match. Groups
 * without rows on the page (a page cut for its size cap; `data-groups="N"` marks a block of
 * N such groups) cannot be searched: while a query is on they are hidden, and the count
 * says how many.
 *
 * @example
 * ```ts
 * import { filterBox } from "./page.ts";
 * filterBox().includes('id="case-filter"'); // true
 * ```
 */
export function filterBox(): string {
  return `<p class="filter"><label>Filter cases by id keys ` +
    `<input id="case-filter" type="search" placeholder="dtype=f16;path=absorbed" size="40">` +
    `</label> <span id="filter-count"></span> <noscript>(filtering needs JavaScript; ` +
    `every case is listed below)</noscript></p>`;
}

// Plain script, no libraries: parse "k=v1,v2;k2=v3" and match it against each row's id keys.
const FILTER_JS = `
(function () {
  var box = document.getElementById("case-filter");
  if (!box) return;
  function parse(q) {
    var conds = [];
    q.split(";").forEach(function (part) {
      part = part.trim();
      if (!part) return;
      var eq = part.indexOf("=");
      if (eq < 0) { conds.push({ text: part }); return; }
      conds.push({ key: part.slice(0, eq).trim(), values: part.slice(eq + 1).split(",").map(function (v) { return v.trim(); }) });
    });
    return conds;
  }
  function keys(id) {
    var m = {};
    id.split(";").forEach(function (kv) { var i = kv.indexOf("="); if (i > 0) m[kv.slice(0, i)] = kv.slice(i + 1); });
    return m;
  }
  function apply() {
    var conds = parse(box.value), shown = 0, total = 0, unsearched = 0;
    document.querySelectorAll("details.group").forEach(function (g) {
      var any = false;
      if (!g.querySelector("tr[data-id]")) { unsearched++; g.hidden = conds.length > 0; return; }
      g.querySelectorAll("tr[data-id]").forEach(function (tr) {
        var id = tr.getAttribute("data-id"), k = keys(id);
        var ok = conds.every(function (c) {
          return c.key === undefined ? id.indexOf(c.text) >= 0 : c.values.indexOf(k[c.key]) >= 0;
        });
        tr.hidden = !ok; total++; if (ok) { shown++; any = true; }
      });
      g.hidden = !any && conds.length > 0;
      if (conds.length > 0) g.open = any;
    });
    document.querySelectorAll("[data-groups]").forEach(function (b) {
      unsearched += +b.getAttribute("data-groups"); b.hidden = conds.length > 0;
    });
    document.getElementById("filter-count").textContent = !conds.length ? "" : shown + " of " + total + " cases" +
      (unsearched ? " on this page; hidden: " + unsearched + (unsearched === 1 ? " group" : " groups") +
        " without rows on it, not searched (results.jsonl has every case)" : "");
  }
  box.addEventListener("input", apply);
})();
`;

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#fff;border-bottom:1px solid #ddd;padding:12px 24px}
h1{font-size:20px;margin:0 0 8px}
h2{font-size:17px;margin:24px 0 8px}
main{padding:0 24px 32px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
dl.facts dt{color:#666}dl.facts dd{margin:0;font-family:ui-monospace,monospace;font-size:13px;min-width:0;overflow-wrap:anywhere}
.verdict{font-weight:600;margin:8px 0 0;padding:6px 10px;border-radius:4px}
.verdict.ok{background:#e6f4ea;color:#1e6b34}.verdict.bad{background:#fde8e8;color:#a11}
.verdict.warn{background:#fff8e1;color:#7a5200;border:1px solid #f0d98c}
pre.commands{background:#fff;border:1px solid #ddd;border-radius:4px;padding:6px 10px;overflow-x:auto;font-size:13px}
.failure{background:#fff;border:1px solid #e3b4b4;border-left:5px solid #c22;border-radius:4px;padding:8px 12px;margin:8px 0}
.failure h3{font-size:14px;margin:0 0 4px;font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.status{display:inline-block;white-space:nowrap;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600}
.status.fail,.status.error,.status.unexpected,.status.regression{background:#c22;color:#fff}
.status.pass{background:#1e6b34;color:#fff}.status.skip,.status.info{background:#666;color:#fff}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:4px 0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
td.n{text-align:right;white-space:nowrap;font-family:ui-monospace,monospace}
td.id{font-family:ui-monospace,monospace;overflow-wrap:anywhere;min-width:20em;max-width:60em}
tr[data-id]>td:last-child,tr[data-id]>td:nth-last-child(2):not(.n){min-width:20em}
details.group,details.fold{background:#fff;border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:4px 8px}
details.group>summary,details.fold>summary{cursor:pointer}
figure.chart{background:#fff;border:1px solid #ddd;border-radius:4px;padding:8px;margin:8px 0;display:inline-block;max-width:100%;overflow-x:auto}
figure.chart svg{display:block;max-width:none}
figcaption{color:#555;font-size:12px;margin-top:4px;max-width:60em}
.note{background:#fff8e1;border:1px solid #f0d98c;padding:6px 10px;border-radius:4px}
.note.drift-bad{background:#fde8e8;border-color:#e3b4b4;color:#a11}.note.drift-ok{background:#e6f4ea;border-color:#b7dcc2}
.filter input{font:inherit}
.wide{overflow-x:auto;max-width:100%}
main table{display:block;overflow-x:auto;max-width:100%}
.failure code,.failure pre{overflow-wrap:anywhere;white-space:pre-wrap}
pre.message{font-size:13px;margin:8px 0}td.message{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
main p,main li,main summary,figcaption{overflow-wrap:anywhere}
`;
