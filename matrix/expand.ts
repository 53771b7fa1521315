/**
 * Expanding a matrix file into cases: the cartesian product of each group's axes
 * (in the spirit of the WebGPU CTS params builder's combine), minus its excludes
 * (filter), with stable ids. Duplicated ids across groups are an error.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { readJsonFile } from "../adapter/json_file.ts";
import { didYouMean } from "../util/edit_distance.ts";
import { wrongFileKindIssue } from "../adapter/file_kind.ts";
import { thdQueriesOfSequence, thdRunsAsWritten } from "../adapter/layout.ts";
import { loadSpec } from "../adapter/source.ts";
import {
  checkConfigPaths,
  configFileOf,
  configPlace,
  isConfigPath,
  normalizeConfigPaths,
  normalizeFilterPresets,
} from "./config_paths.ts";
import { type CaseFilter, caseId, matchesFilter } from "./case_id.ts";
import { expectProblems } from "./reason_codes.ts";
import { unknownPresets } from "./preset_names.ts";
import { PRESET_NAMES, presetSpec } from "../adapter/presets.ts";
import { backendById, registeredBackendIds } from "../adapter/registry.ts";
import { idValueProblem, MAX_LAYOUT_TOKENS, parseMatrixFile } from "./schema.ts";
import {
  type Case,
  CASE_DEFAULTS,
  CASE_ID_ORDER,
  type CaseParams,
  type MatrixFile,
  type MatrixGroup,
} from "./types.ts";

type Axes = Partial<Record<keyof CaseParams, unknown>>;

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

function matchesPartial(p: CaseParams, partial: Axes): boolean {
  return Object.entries(partial).every(([k, v]) =>
    asList(v).includes(p[k as keyof CaseParams] as unknown)
  );
}

/**
 * Validate a parsed matrix file (throws a `ConfigError` naming each bad entry): the schema,
 * device profile names (`native`, the adapter as probed, is reserved), profiles that change
 * nothing or that no group's device axis names, group labels (a name,
 * or `groups[i]` when it has none: two groups of one label are refused, the reports group
 * cases by it), axis values listed twice in a group, and each group's `expect` (matrix/reason_codes.ts: `supported` with codes,
 * or an `unsupported` code that is no reason code, is refused).
 *
 * @example
 * ```ts
 * import { validateMatrix } from "./expand.ts";
 * validateMatrix({ name: "m", groups: [{ axes: { preset: "tiny" } }] }, "m.json");
 * ```
 */
export function validateMatrix(raw: unknown, source: string): MatrixFile {
  const parsed = parseMatrixFile(raw);
  if (!parsed.success) {
    // another of the harness's files (a run report, a model config.json, ...): say which
    const other = wrongFileKindIssue(raw, "matrix");
    if (other !== null) throw new ConfigError(source, [other], "not a matrix");
    const issues: ConfigIssue[] = parsed.error.issues.flatMap((i) => {
      // an unknown key (zod's unrecognized_keys names them beside the object's path) is one
      // issue each, at its own path, with the value it holds: present, not missing
      const keys: readonly PropertyKey[] = "keys" in i && Array.isArray(i.keys) ? i.keys : [];
      const paths = keys.length ? keys.map((k) => [...i.path, k]) : [i.path];
      return paths.map((path) => {
        let v: unknown = raw;
        for (const k of path) {
          // a scalar axis value is a list of one: index 0 of a non-array is the value itself
          if (k === 0 && !Array.isArray(v)) continue;
          v = v !== null && typeof v === "object"
            ? (v as Record<PropertyKey, unknown>)[k]
            : undefined;
        }
        return {
          path: path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")
            .replace(/^\./, "") || "(root)",
          value: v,
          message: i.message,
        };
      });
    });
    throw new ConfigError(source, issues, "invalid matrix");
  }
  const m = parsed.data;
  const issues: ConfigIssue[] = [];
  const profiles = new Set(["native", ...Object.keys(m.devices ?? {})]);
  for (const name of Object.keys(m.devices ?? {})) {
    const problem = idValueProblem(name);
    if (problem) {
      issues.push({ path: "devices", value: name, message: `(a profile name) ${problem}` });
    }
    // device "native" is the adapter as probed: a profile of that name would never apply
    if (name === "native") {
      issues.push({
        path: "devices.native",
        value: m.devices?.[name],
        message: 'is a reserved name: device "native" is the adapter as probed, so this ' +
          "profile would never apply; give the profile another name and use it in a " +
          'group\'s device axis, e.g. "devices": {"no-f16": {...}}, "device": ["native", "no-f16"]',
      });
    }
    // a profile that sets nothing ran its cases on the adapter as probed, "native" under
    // another name, and the reports told them apart as if they differed
    const prof = m.devices?.[name];
    if (
      prof && !prof.removeFeatures?.length && !Object.keys(prof.limits ?? {}).length &&
      prof.loopIterationBudget === undefined
    ) {
      issues.push({
        path: `devices.${name}`,
        value: prof,
        message: "changes nothing (no removeFeatures, limits or loopIterationBudget), so its " +
          'cases would run the adapter as probed, as device "native" does, under another ' +
          'name; give it what it removes or lowers, e.g. {"removeFeatures": ["shader-f16"]}',
      });
    }
  }
  // a profile no group's device axis names: none of its cases would run, which a reader of
  // the matrix (and its author, who meant it to) cannot tell from the reports
  const used = new Set(m.groups.flatMap((g) => asList((g.axes as Axes).device ?? "native")));
  for (const name of Object.keys(m.devices ?? {})) {
    if (name === "native" || used.has(name)) continue;
    issues.push({
      path: `devices.${name}`,
      value: m.devices?.[name],
      message: "is named by no group's device axis, so none of its cases would run; add it " +
        `to a group's axes, e.g. "device": ["native", "${name}"], or remove the profile`,
    });
  }
  // the reports group cases by this label: two groups of one label would read as one group
  // (as the reports show it: "a" and "a " or "a  b" and "a b" read as one label there)
  const labels = new Map<string, number>();
  m.groups.forEach((g, gi) => {
    const label = g.name ?? `groups[${gi}]`;
    const shown = label.trim().replace(/\s+/g, " ");
    const first = labels.get(shown);
    if (first === undefined) labels.set(shown, gi);
    else {
      const other = m.groups[first].name ?? `groups[${first}]`;
      issues.push({
        path: `groups[${gi}]${g.name === undefined ? "" : ".name"}`,
        value: label,
        message:
          `is also the label of groups[${first}]${
            other === label ? "" : ` (${JSON.stringify(other)}, which reads the same)`
          }; the reports group cases by it, so the two groups would read as one: give each ` +
          "group its own name",
      });
    }
  });
  m.groups.forEach((g, gi) => {
    // a value listed twice made each of its cases twice, refused as "repeats a case of
    // groups[i]" of the group itself: name the axis and both places instead
    for (const [key, v] of Object.entries(g.axes as Axes)) {
      if (!Array.isArray(v)) continue;
      v.forEach((x, xi) => {
        const first = v.indexOf(x);
        if (first === xi) return;
        issues.push({
          path: `groups[${gi}].axes.${key}[${xi}]`,
          value: x,
          message: `is listed twice (also ${key}[${first}]), which would make each of its ` +
            "cases twice; list each value once",
        });
      });
    }
    asList((g.axes as Axes).device ?? "native").forEach((d, di) => {
      if (!profiles.has(d as string)) {
        issues.push({
          path: `groups[${gi}].axes.device[${di}]`,
          value: d,
          message: `is not a device profile; valid: ${[...profiles].join(", ")}`,
        });
      }
    });
    if (g.expect) {
      const backends = asList((g.axes as Axes).backend ?? "") as string[];
      const paths = asList((g.axes as Axes).path ?? CASE_DEFAULTS.path) as string[];
      for (const p of expectProblems(g.expect, backends, { paths })) {
        issues.push({
          path: `groups[${gi}].expect${p.path ? `.${p.path}` : ""}`,
          value: p.value,
          message: p.message,
        });
      }
    }
  });
  if (issues.length) throw new ConfigError(source, issues, "invalid matrix");
  return m;
}

/**
 * The `backend` axis values of a matrix that name no registered backend (bundled, or
 * loaded with `--backend-module` before the matrix): every case of them would only fail
 * with backend.unknown, so the matrix is refused (exit 2) naming the entry, the id and the
 * registered ids. A group that expects `unsupported` with the code backend.unknown tests
 * exactly that and is left alone.
 *
 * @example
 * ```ts
 * import { unknownBackends } from "./expand.ts";
 * unknownBackends({ name: "m", groups: [{ axes: { backend: "nosuch" } }] }).length; // 1
 * ```
 */
export function unknownBackends(m: MatrixFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  m.groups.forEach((g, gi) => {
    const codes = g.expect?.support === "unsupported" ? g.expect.codes ?? [] : [];
    if (codes.some((c) => c === "backend.unknown" || c.endsWith(":backend.unknown"))) return;
    asList((g.axes as Axes).backend ?? "").forEach((b, bi) => {
      if (b === "" || typeof b !== "string" || backendById(b)) return;
      issues.push({
        path: `groups[${gi}].axes.backend[${bi}]`,
        value: b,
        message:
          `is not a registered backend; registered: ${
            registeredBackendIds().join(", ")
          } (a user backend is registered with run --backend-module <path>; leave the axis ` +
          "out for the bundled backend of the path)",
      });
    });
  });
  return issues;
}

/**
 * A group with a `backend` axis and no `path` axis runs its cases on the path of its
 * backends, as `explain --backend` does (the default path, absorbed, would only refuse an
 * expanded backend's every case with backend.path-mismatch): the group gets that `path`
 * axis. A group whose backends compute both paths is an issue (which path each case is
 * would be a guess): it names them and asks for a `path` axis or one group per path.
 * Unregistered ids (a group expecting backend.unknown) are left to the registry.
 *
 * @example
 * ```ts
 * import { pathsOfBackends } from "./expand.ts";
 * const m = { name: "m", groups: [{ axes: { backend: "wgsl-expanded-tiled" } }] };
 * pathsOfBackends(m).file.groups[0].axes.path; // "expanded"
 * ```
 */
export function pathsOfBackends(m: MatrixFile): { file: MatrixFile; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const groups = m.groups.map((g, gi) => {
    const axes = g.axes as Axes;
    if (axes.path !== undefined || axes.backend === undefined) return g;
    const byPath = new Map<string, string[]>();
    for (const b of asList(axes.backend)) {
      const path = typeof b === "string" && b !== "" ? backendById(b)?.path : undefined;
      if (path !== undefined) byPath.set(path, [...(byPath.get(path) ?? []), b as string]);
    }
    if (byPath.size > 1) {
      issues.push({
        path: `groups[${gi}].axes.backend`,
        value: axes.backend,
        message: `names backends of both paths (${
          [...byPath].map(([p, ids]) => `${ids.join(", ")}: ${p}`).join("; ")
        }) and no path axis, where a group runs on its backends' path: write one group per ` +
          "path (or give it a path axis, the other path's cases then unsupported)",
      });
      return g;
    }
    const [path] = [...byPath.keys()];
    return path === undefined || path === CASE_DEFAULTS.path
      ? g
      : { ...g, axes: { ...g.axes, path } };
  });
  return { file: { ...m, groups }, issues };
}

/**
 * The cases whose layout would have more than {@link MAX_LAYOUT_TOKENS} query or key tokens
 * (b x sq, b x sk): within the axes' own bounds (b 4096, s_k 1 Mi) such a case ran out of
 * memory building its per-token tables after a minute, as a RangeError. A matrix holding
 * one is refused on load (exit 2), naming the case and the bound; at most 5 are listed.
 *
 * @example
 * ```ts ignore
 * import { oversizedCases } from "./expand.ts";
 * oversizedCases(cases).length; // 0 for every bundled matrix
 * ```
 */
export function oversizedCases(cases: readonly Case[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const c of cases) {
    const { b, sq, sk } = c.params;
    const tokens = b * Math.max(sq, sk);
    if (tokens <= MAX_LAYOUT_TOKENS) continue;
    if (issues.length === 5) {
      const more = cases.filter((x) =>
        x.params.b * Math.max(x.params.sq, x.params.sk) > MAX_LAYOUT_TOKENS
      ).length - 5;
      issues.push({ path: "(further cases)", value: more, message: "are over the bound too" });
      break;
    }
    issues.push({
      path: c.id,
      value: `b ${b} x ${sk >= sq ? `sk ${sk}` : `sq ${sq}`} = ${tokens} tokens`,
      message: `is over the ${MAX_LAYOUT_TOKENS} query or key tokens a case may have (its ` +
        "layout and tables hold an entry per token); give smaller b, sq or sk",
    });
  }
  return issues;
}

/**
 * The thd cases thd would not run as written: more queries than keys (sq > sk). thd packs a
 * prefill as self-attention, each sequence's queries its own keys (adapter/layout.ts
 * `thdQueriesOfSequence`, the rule runner/case_request.ts `layoutOfCase` packs by), so such
 * a case would run another sq under an id that says otherwise: a matrix holding one is
 * refused on load (exit 2), naming the case and what to write instead; at most 5 are listed.
 *
 * @example
 * ```ts
 * import { thdMoreQueriesThanKeys } from "./expand.ts";
 * import { CASE_DEFAULTS } from "./types.ts";
 * const params = { ...CASE_DEFAULTS, layout: "thd" as const, sq: 6, sk: 2 };
 * thdMoreQueriesThanKeys([{ id: "x", params }])[0].value; // "sq 6 > sk 2"
 * ```
 */
export function thdMoreQueriesThanKeys(
  cases: readonly Pick<Case, "id" | "params">[],
): ConfigIssue[] {
  const bad = cases.filter((c) => c.params.layout === "thd" && !thdRunsAsWritten(c.params));
  const issues: ConfigIssue[] = bad.slice(0, 5).map((c) => ({
    path: c.id,
    value: `sq ${c.params.sq} > sk ${c.params.sk}`,
    message: `is not what layout thd would run: thd packs a prefill as self-attention (each ` +
      `sequence's queries are its own keys), so it would run sq ` +
      `${thdQueriesOfSequence(c.params, c.params.sk)}; ` +
      (c.params.mode === "layer"
        ? "a layer case is self-attention: give sq = sk, or "
        : "give sq <= sk (sq < sk: queries against a cache), layout bshd or sbhd for more " +
          "queries than keys, or ") +
      `exclude it ({"layout": "thd", "sq": ${c.params.sq}})`,
  }));
  if (bad.length > 5) {
    issues.push({
      path: "(further cases)",
      value: bad.length - 5,
      message: "are thd with sq > sk too",
    });
  }
  return issues;
}

/**
 * What in a case's params rules out self-attention, whatever lengths its seed draws: sq !=
 * sk, varlen with bshd/sbhd (every query row stays while the drawn caches may be shorter:
 * only a draw of all-sk lengths would be self-attention), or a paged cache; null where none
 * does. A mode layer case with any of them is invalid every time, not only for the seeds
 * whose draw differs ({@link layerNotSelfAttention} refuses it on load).
 *
 * @example
 * ```ts
 * import { notSelfAttention } from "./expand.ts";
 * import { CASE_DEFAULTS } from "./types.ts";
 * notSelfAttention({ ...CASE_DEFAULTS, sq: 2, sk: 2, varlen: "normal" });
 * // "varlen normal with layout bshd"
 * notSelfAttention({ ...CASE_DEFAULTS, sq: 2, sk: 2, varlen: "normal", layout: "thd" }); // null
 * ```
 */
export function notSelfAttention(
  p: Pick<CaseParams, "sq" | "sk" | "varlen" | "layout" | "page">,
): string | null {
  if (p.sq !== p.sk) return `sq ${p.sq} != sk ${p.sk}`;
  if (p.varlen !== "none" && p.layout !== "thd") {
    return `varlen ${p.varlen} with layout ${p.layout}`;
  }
  if (p.page > 0) return `a paged cache (page ${p.page})`;
  return null;
}

/**
 * The mode layer cases that can never run ({@link notSelfAttention}: a layer is
 * self-attention) and whose group does not expect them to be invalid: each loaded, ran the
 * whole matrix and ended as "unexpected" (exit 1). A matrix holding one is refused on load
 * (exit 2), naming the case and why; at most 5 are listed.
 *
 * @example
 * ```ts
 * import { layerNotSelfAttention } from "./expand.ts";
 * import { CASE_DEFAULTS } from "./types.ts";
 * const params = { ...CASE_DEFAULTS, mode: "layer" as const, sq: 2, sk: 4 };
 * layerNotSelfAttention([{ id: "x", params, expect: { support: "supported" } }])[0].value;
 * // "sq 2 != sk 4"
 * ```
 */
export function layerNotSelfAttention(
  cases: readonly Pick<Case, "id" | "params" | "expect">[],
): ConfigIssue[] {
  const bad = cases.filter((c) =>
    c.params.mode === "layer" && c.expect.support !== "invalid" &&
    notSelfAttention(c.params) !== null
  );
  const issues: ConfigIssue[] = bad.slice(0, 5).map((c) => ({
    path: c.id,
    value: notSelfAttention(c.params),
    message: "rules out a layer case: mode layer runs self-attention (sq = sk, no varlen with " +
      "bshd/sbhd, no paged cache; decode against a cache is mode attention), so run refuses " +
      "it as invalid every time; give such params, mode attention, exclude it, or expect it " +
      '({"support": "invalid", "codes": ["self-attention"]})',
  }));
  if (bad.length > 5) {
    issues.push({
      path: "(further cases)",
      value: bad.length - 5,
      message: "are layer cases that are not self-attention too",
    });
  }
  return issues;
}

/** Empty exclude objects: `{}` matches every case of its group and would drop them all. */
function emptyExcludes(m: MatrixFile): ConfigIssue[] {
  return m.groups.flatMap((g, gi) =>
    (g.exclude ?? []).flatMap((e, ei) =>
      Object.keys(e).length > 0 ? [] : [{
        path: `groups[${gi}].exclude[${ei}]`,
        value: e,
        message: "is empty, so it matches every case of the group; name the axes of the " +
          'cases to drop, e.g. {"dtype": "f16", "sq": 2}',
      }]
    )
  );
}

/**
 * Exclude values the group's axis never takes (`{"sq": 3}` in a group of sq 1 and 2, a
 * misspelt preset, an axis the group leaves at its default): such an exclude, or that part
 * of it, drops nothing, so the cases it was written to drop run. Named with the values the
 * group has.
 */
function deadExcludeValues(m: MatrixFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  m.groups.forEach((g, gi) => {
    const axes = new Map(groupAxes(g, null));
    (g.exclude ?? []).forEach((e, ei) => {
      for (const [key, v] of Object.entries(e)) {
        const has = axes.get(key as keyof CaseParams) ?? [];
        asList(v).forEach((x, xi) => {
          if (has.includes(x)) return;
          const list = Array.isArray(v) ? `[${xi}]` : "";
          issues.push({
            path: `groups[${gi}].exclude[${ei}].${key}${list}`,
            value: x,
            message: `is not a value of the group's ${key} (${
              has.map((h) => JSON.stringify(h)).join(", ")
            }${
              (g.axes as Axes)[key as keyof CaseParams] === undefined ? ": the default" : ""
            }), so it excludes nothing; name a value the group has`,
          });
        });
      }
    });
  });
  return issues;
}

/**
 * Exclude entries that another entry of the group covers (it names, for every axis the other
 * names, only values the other names too): a repeated entry, or `{"dtype": "f16", "preset":
 * "tiny"}` beside `{"dtype": "f16"}`. Such an entry drops nothing more, which is most often a
 * typo for the cases it was meant to drop (those run). A pair that names the same cases is
 * reported at the later entry.
 */
function coveredExcludes(m: MatrixFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // whether every case `a` matches, `b` matches too
  const covers = (b: Axes, a: Axes) =>
    Object.entries(b).every(([key, values]) => {
      const mine = a[key as keyof CaseParams];
      return mine !== undefined && asList(mine).every((x) => asList(values).includes(x));
    });
  m.groups.forEach((g, gi) => {
    const excludes = (g.exclude ?? []) as Axes[];
    excludes.forEach((e, ei) => {
      if (Object.keys(e).length === 0) return; // emptyExcludes names it
      const by = excludes.findIndex((o, oi) =>
        oi !== ei && Object.keys(o).length > 0 && covers(o, e) && (!covers(e, o) || oi < ei)
      );
      if (by < 0) return;
      issues.push({
        path: `groups[${gi}].exclude[${ei}]`,
        value: e,
        message:
          `removes only cases that exclude[${by}] (${
            JSON.stringify(excludes[by])
          }) removes too, so it excludes nothing more; drop it, or name the cases it was ` +
          "meant to drop",
      });
    });
  });
  return issues;
}

/**
 * Groups whose exclude list removes every one of their cases (counted without expanding;
 * a group with more than 16 excludes and over 2^20 combinations is counted only
 * approximately, and is left to the run's check that the selection is not empty,
 * matrix/select.ts).
 */
function fullyExcludedGroups(m: MatrixFile): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  m.groups.forEach((g, gi) => {
    if (!g.exclude?.length || g.exclude.some((e) => Object.keys(e).length === 0)) return;
    const all = countMatching(groupAxes(g, null), []);
    const { count, exact } = countGroup(g, null);
    if (!exact || count > 0 || all === 0) return;
    issues.push({
      path: `groups[${gi}].exclude`,
      value: g.exclude,
      message: `(group ${JSON.stringify(g.name ?? `groups[${gi}]`)}) removes all ${all} of ` +
        "the group's cases, so it would test nothing; narrow the excludes or drop the group",
    });
  });
  return issues;
}

/**
 * Refuse excludes that remove everything or nothing (a ConfigError naming each): an empty
 * exclude object (`{}` matches every case), a group whose excludes leave none of its cases, so
 * a run could never be green having tested nothing, an exclude value the group's axis
 * never takes (a typo: the cases it meant to drop would run), and an exclude another of the
 * group covers (it drops nothing more). {@link loadMatrix} applies it to every
 * matrix it loads.
 *
 * @example
 * ```ts
 * import { checkExcludes, validateMatrix } from "./expand.ts";
 * const m = validateMatrix({ name: "m", groups: [{ axes: { dtype: ["f32", "f16"] },
 *   exclude: [{ dtype: "f16" }] }] }, "m.json");
 * checkExcludes(m, "m.json"); // fine: the f32 case is left
 * ```
 */
export function checkExcludes(m: MatrixFile, source: string): void {
  const issues = [
    ...emptyExcludes(m),
    ...deadExcludeValues(m),
    ...coveredExcludes(m),
    ...fullyExcludedGroups(m),
  ];
  if (issues.length) throw new ConfigError(source, issues, "invalid matrix");
}

/** Cases a matrix may expand to unless raised (`run --max-cases`). */
export const DEFAULT_MAX_CASES = 100_000;

// Inclusion-exclusion over a group's excludes costs 2^excludes terms; above this many
// excludes a group of more than MAX_ENUMERATED combinations is counted as the product of
// its axes (an upper bound) instead.
const MAX_EXCLUDES_COUNTED = 16;

/** The axis values a group enumerates, in id order; a filter keeps only matching values. */
function groupAxes(g: MatrixGroup, filter: CaseFilter | null): [keyof CaseParams, unknown[]][] {
  const axes = g.axes as Axes;
  return CASE_ID_ORDER.map((key) => {
    const values = axes[key] === undefined ? [CASE_DEFAULTS[key]] : asList(axes[key]);
    const wanted = filter?.get(key);
    if (!wanted) return [key, values];
    const only: CaseFilter = new Map([[key, wanted]]);
    return [key, values.filter((v) => matchesFilter({ ...CASE_DEFAULTS, [key]: v }, only))];
  });
}

/** How many combinations of `axes` also match every partial assignment in `parts`. */
function countMatching(axes: [keyof CaseParams, unknown[]][], parts: readonly Axes[]): number {
  let n = 1;
  for (const [key, values] of axes) {
    let k = 0;
    for (const v of values) {
      if (parts.every((e) => e[key] === undefined || asList(e[key]).includes(v))) k++;
    }
    n *= k;
    if (n === 0) return 0;
  }
  return n;
}

// Counting a group's combinations one by one costs (combinations x excludes); up to this
// many combinations it is done when it is cheaper than inclusion-exclusion.
const MAX_ENUMERATED = 1 << 20;

/** How many combinations of `axes` no exclude matches, counted one by one. */
function countByEnumeration(axes: [keyof CaseParams, unknown[]][], excludes: Axes[]): number {
  // per exclude, per axis: the values it names (null: any)
  const named = excludes.map((e) =>
    axes.map(([key]) => e[key] === undefined ? null : asList(e[key]))
  );
  const at = axes.map(() => 0);
  let n = 0;
  while (true) {
    const hit = named.some((e) =>
      e.every((values, i) => values === null || values.includes(axes[i][1][at[i]]))
    );
    if (!hit) n++;
    let i = at.length - 1;
    while (i >= 0 && ++at[i] === axes[i][1].length) at[i--] = 0;
    if (i < 0) return n;
  }
}

/** The number of cases of one group (exact, or an upper bound with many excludes). */
function countGroup(g: MatrixGroup, filter: CaseFilter | null): { count: number; exact: boolean } {
  const axes = groupAxes(g, filter);
  const excludes = (g.exclude ?? []) as Axes[];
  const all = countMatching(axes, []);
  if (excludes.length === 0 || all === 0) return { count: all, exact: true };
  // inclusion-exclusion costs 2^excludes terms: 200 groups of 16 excludes each took a
  // minute to load, where their few combinations are counted one by one at once
  const enumerate = all <= MAX_ENUMERATED &&
    (excludes.length > MAX_EXCLUDES_COUNTED || all * excludes.length <= 2 ** excludes.length);
  if (enumerate) return { count: countByEnumeration(axes, excludes), exact: true };
  if (excludes.length > MAX_EXCLUDES_COUNTED) return { count: all, exact: false };
  // |combinations| - |union of excludes|, the union by inclusion-exclusion.
  let excluded = 0;
  for (let mask = 1; mask < 1 << excludes.length; mask++) {
    const parts = excludes.filter((_, i) => mask & (1 << i));
    excluded += (parts.length % 2 ? 1 : -1) * countMatching(axes, parts);
  }
  return { count: all - excluded, exact: true };
}

/**
 * Count a matrix's cases without expanding them (after an optional filter): the product
 * of each group's axis lengths minus its excludes (inclusion-exclusion, or the combinations
 * counted one by one where that is cheaper; with more than 16 excludes in a group of more
 * than 2^20 combinations, the product alone, and `exact` is false).
 *
 * @example
 * ```ts
 * import { countCases, validateMatrix } from "./expand.ts";
 * countCases(validateMatrix({ name: "m", groups: [{ axes: { b: [1, 2], sq: [1, 2] },
 *   exclude: [{ b: 2, sq: 2 }] }] }, "m.json")); // { count: 3, exact: true }
 * ```
 */
export function countCases(
  m: MatrixFile,
  options: { filter?: CaseFilter | null } = {},
): { count: number; exact: boolean } {
  let count = 0;
  let exact = true;
  for (const g of m.groups) {
    const c = countGroup(g, options.filter ?? null);
    count += c.count;
    exact &&= c.exact;
  }
  return { count, exact };
}

/**
 * Refuse a matrix with more than `maxCases` cases (counted, not expanded): a ConfigError
 * giving the count and how to raise the limit.
 *
 * @example
 * ```ts
 * import { checkCaseCount, validateMatrix } from "./expand.ts";
 * checkCaseCount(validateMatrix({ name: "m", groups: [{ axes: {} }] }, "m.json"), "m.json");
 * ```
 */
export function checkCaseCount(
  m: MatrixFile,
  source: string,
  options: {
    maxCases?: number;
    filter?: CaseFilter | null;
    shard?: { index: number; count: number };
  } = {},
): void {
  const max = options.maxCases ?? DEFAULT_MAX_CASES;
  // the limit counts the selection before --shard takes its part: a user sizing it per shard
  // read "4 cases ... more than the limit of 2" with no word of why
  const shard = options.shard
    ? ` (the limit counts the whole selection, before --shard ${options.shard.index}/` +
      `${options.shard.count} takes its part of it)`
    : "";
  const { count, exact } = countCases(m, options);
  if (count <= max) return;
  // past 2^53 - 1 the count is no exact integer, and --max-cases takes none that large: its
  // suggestion read "raise the limit with --max-cases 288230376151711740", which is refused
  const raisable = Number.isSafeInteger(count);
  throw new ConfigError(source, [{
    path: "groups",
    value: count,
    message:
      `${exact ? "cases" : "cases at most (counted before excludes)"}${
        options.filter ? " after the filter" : ""
      } are more than the limit of ${max}; select fewer with --filter or smaller axes` +
      (raisable
        ? `, or raise the limit with --max-cases ${count}${shard}`
        : ` (no --max-cases reaches that many: it takes integers up to ${Number.MAX_SAFE_INTEGER})`),
  }], "too many cases");
}

/** Each normalized config path written more than one way: its spellings in the matrix. */
export type PresetSpellings = ReadonlyMap<string, readonly string[]>;

/** For a repeated case: how its config path was written several ways, or "". */
function spelledTwice(preset: string, spellings: PresetSpellings | undefined): string {
  const ways = isConfigPath(preset) ? spellings?.get(preset) : undefined;
  if (!ways) return "";
  return ` (the matrix writes the config ${JSON.stringify(preset)} as ${
    ways.map((w) => JSON.stringify(w)).join(" and ")
  }: one file, so one case; name it once)`;
}

/** The head count of each config path a matrix names (and reads), as its cases run it. */
export type ConfigHeads = ReadonlyMap<string, number>;

/**
 * The head count of a bundled preset or of a config path in `configs` (a `heads` override
 * equal to it is the preset's own case), or null (a config that does not read).
 */
function presetHeads(
  preset: string,
  configs: ConfigHeads | undefined,
  cache: Map<string, number | null>,
): number | null {
  let heads = cache.get(preset);
  if (heads === undefined) {
    heads = PRESET_NAMES.includes(preset)
      ? presetSpec(preset).numHeads
      : configs?.get(preset) ?? null;
    cache.set(preset, heads);
  }
  return heads;
}

/**
 * The cases of a validated matrix, generated one at a time in file order (memory does
 * not grow with the number of cases, except for the ids kept to find repeats). A filter
 * narrows each axis before the product, so a filtered run never walks the whole matrix.
 * A case id that two groups both produce throws a ConfigError.
 *
 * @example
 * ```ts
 * import { iterateCases, validateMatrix } from "./expand.ts";
 * const m = validateMatrix({ name: "m", groups: [{ axes: { dtype: ["f32", "f16"] } }] }, "m");
 * [...iterateCases(m, "m")].map((c) => c.params.dtype); // ["f32", "f16"]
 * ```
 */
export function* iterateCases(
  m: MatrixFile,
  source: string,
  options: {
    filter?: CaseFilter | null;
    presetSpellings?: PresetSpellings;
    configHeads?: ConfigHeads;
  } = {},
): Generator<Case> {
  const where = new Map<string, number>();
  // a heads override equal to a preset's own count runs the case heads 0 (the spec's) runs:
  // each case by the id it would have with heads 0, and the id and group that first had it
  const sameAs = new Map<string, { id: string; gi: number }>();
  const heads = new Map<string, number | null>();
  for (const [gi, g] of m.groups.entries()) {
    const axes = groupAxes(g, options.filter ?? null);
    if (axes.some(([, values]) => values.length === 0)) continue;
    const excludes = (g.exclude ?? []) as Axes[];
    // An odometer over the axes; the last axis in id order turns fastest, as a nested loop.
    const at = axes.map(() => 0);
    while (true) {
      const params = Object.fromEntries(
        axes.map(([k, vs], i) => [k, vs[at[i]]]),
      ) as unknown as CaseParams;
      if (!excludes.some((e) => matchesPartial(params, e))) {
        const id = caseId(params);
        const prev = where.get(id);
        if (prev !== undefined) {
          throw new ConfigError(source, [{
            path: `groups[${gi}]`,
            value: id,
            message: `repeats a case of groups[${prev}]; each case id must appear once${
              spelledTwice(params.preset, options.presetSpellings)
            }`,
          }], "invalid matrix");
        }
        const own = presetHeads(params.preset, options.configHeads, heads);
        if (own !== null && (params.heads === 0 || params.heads === own)) {
          const key = caseId({ ...params, heads: 0 });
          const first = sameAs.get(key);
          if (first !== undefined) {
            throw new ConfigError(source, [{
              path: `groups[${gi}]`,
              value: id,
              message: `runs the case ${JSON.stringify(first.id)} of groups[${first.gi}] ` +
                `under another id: heads ${own} is ${params.preset}'s own head count, what ` +
                "heads 0 (the spec's) runs, so the one case would run twice; give heads " +
                `0 or ${own}, not both, or exclude one ({"preset": "${params.preset}", ` +
                `"heads": ${own}})`,
            }], "invalid matrix");
          }
          sameAs.set(key, { id, gi });
        }
        where.set(id, gi);
        yield {
          id,
          params,
          expect: g.expect ?? { support: "supported" },
          seed: m.seed ?? 1,
          deviceProfile: params.device === "native" ? {} : m.devices?.[params.device] ?? {},
          group: g.name ?? `groups[${gi}]`,
        };
      }
      let i = at.length - 1;
      while (i >= 0 && ++at[i] === axes[i][1].length) at[i--] = 0;
      if (i < 0) break;
    }
  }
}

/** Where a matrix's exclude removed a case ({@link excludeOfCase}). */
export interface CaseExclusion {
  /** The group's label: its name, or `groups[i]`. */
  readonly group: string;
  /** The exclude entry's path in the file, e.g. `groups[1].exclude[0]`. */
  readonly path: string;
  /** The exclude entry as the matrix was read (each value a list, config paths normalized). */
  readonly exclude: Readonly<Record<string, unknown>>;
}

/**
 * The first exclude entry that removes case `id` from a group whose axes hold it, or null
 * when no group's axes hold it or none of their excludes removes it (`explain --case` names
 * it rather than "has no case"). The id is read as {@link caseId} writes it; the matrix is
 * one {@link loadMatrix} read (its config paths normalized as ids have them).
 *
 * @example
 * ```ts
 * import { excludeOfCase, validateMatrix } from "./expand.ts";
 * const m = validateMatrix({
 *   name: "m",
 *   groups: [{ axes: { preset: "tiny", dtype: ["f32", "f16"] }, exclude: [{ dtype: "f16" }] }],
 * }, "m.json");
 * excludeOfCase(m, "preset=tiny;path=absorbed;dtype=f16;b=1;sq=1;sk=16;layout=bshd;causal=1")
 *   ?.path; // "groups[0].exclude[0]"
 * ```
 */
export function excludeOfCase(m: MatrixFile, id: string): CaseExclusion | null {
  const shown = (v: unknown) => (typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  const text = new Map<string, string>();
  for (const pair of id.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0) text.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  for (const [gi, g] of m.groups.entries()) {
    const excludes = (g.exclude ?? []) as Axes[];
    if (excludes.length === 0) continue;
    // the group's own values for the id's params (a key the id leaves out: its default)
    const params: Record<string, unknown> = {};
    const holds = groupAxes(g, null).every(([key, values]) => {
      const want = text.get(key) ?? shown(CASE_DEFAULTS[key]);
      const v = values.find((x) => shown(x) === want);
      params[key] = v;
      return v !== undefined;
    });
    if (!holds || caseId(params as unknown as CaseParams) !== id) continue;
    const ei = excludes.findIndex((e) => matchesPartial(params as unknown as CaseParams, e));
    if (ei < 0) continue;
    return {
      group: g.name ?? `groups[${gi}]`,
      path: `groups[${gi}].exclude[${ei}]`,
      exclude: excludes[ei],
    };
  }
  return null;
}

/**
 * Expand a validated matrix into cases, in file order. More than `maxCases` (default
 * {@link DEFAULT_MAX_CASES}) is refused before anything is expanded.
 *
 * @example
 * ```ts
 * import { expandMatrix, validateMatrix } from "./expand.ts";
 * const cases = expandMatrix(validateMatrix({
 *   name: "m", groups: [{ axes: { preset: "tiny", dtype: ["f32", "f16"] } }],
 * }, "m.json"), "m.json");
 * cases.length; // 2
 * ```
 */
export function expandMatrix(
  m: MatrixFile,
  source: string,
  options: {
    maxCases?: number;
    filter?: CaseFilter | null;
    presetSpellings?: PresetSpellings;
    configHeads?: ConfigHeads;
    shard?: { index: number; count: number };
  } = {},
): Case[] {
  checkCaseCount(m, source, options);
  return [...iterateCases(m, source, options)];
}

/** Bundled matrix names. */
export const BUNDLED_MATRICES: readonly string[] = ["smoke", "nightly", "adapter"];

/**
 * The file a `--matrix` value reads, or undefined for a bundled matrix's name: what output
 * checks treat as an input file.
 *
 * @example
 * ```ts
 * import { matrixFileOf } from "./expand.ts";
 * matrixFileOf("smoke"); // undefined
 * matrixFileOf("my/matrix.json"); // "my/matrix.json"
 * ```
 */
export function matrixFileOf(matrix: string): string | undefined {
  return BUNDLED_MATRICES.includes(matrix) ? undefined : matrix;
}

/**
 * `did you mean "smoke"? ` for a `--matrix` that names no file: a name near a bundled one, or
 * a bundled one's file name (`smoke.json`, `matrix/bundled/smoke.json` from another folder),
 * which read "cannot be read" beside the list of names with no word that the name is one.
 */
function bundledHint(nameOrPath: string): string {
  const base = nameOrPath.replace(/^.*[\\/]/, "").replace(/\.json$/i, "");
  if (base !== nameOrPath && BUNDLED_MATRICES.includes(base)) {
    return `a bundled matrix is given by its name: did you mean "${base}"? `;
  }
  return didYouMean(nameOrPath, BUNDLED_MATRICES);
}

/** Options of {@link loadMatrix}. */
export interface LoadMatrixOptions {
  /** Refuse more cases than this (default {@link DEFAULT_MAX_CASES}). */
  maxCases?: number;
  /** Expand only the cases this filter selects (the limit applies to them). */
  filter?: CaseFilter | null;
  /** Folder the matrix's config paths must stay inside (default: the matrix's folder). */
  configRoot?: string;
  /** The shard the caller takes of the selection (named when the limit refuses it). */
  shard?: { index: number; count: number };
}

/**
 * Throw a RangeError unless {@link loadMatrix}'s arguments are what it reads (from a
 * JavaScript caller: a missing name failed with "Cannot read properties of undefined (reading
 * 'replace')", null options with "(reading 'configRoot')", a filter text with "filter.get is
 * not a function", and a maxCases of NaN refused every matrix as "more than the limit of NaN").
 */
function checkLoadArguments(nameOrPath: unknown, options: unknown): void {
  // a string quoted, an object as JSON, a number as written (JSON.stringify(NaN) is "null")
  const shown = (v: unknown) =>
    typeof v === "string" || (typeof v === "object" && v !== null) ? JSON.stringify(v) : String(v);
  if (typeof nameOrPath !== "string" || nameOrPath === "") {
    throw new RangeError(
      `loadMatrix: the matrix must be a bundled matrix's name (${
        BUNDLED_MATRICES.join(", ")
      }) or a file's path, found ${shown(nameOrPath)}`,
    );
  }
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new RangeError(
      "loadMatrix: options must be an object { maxCases?, filter?, configRoot?, shard? }, " +
        `found ${shown(options)}`,
    );
  }
  const o = options as LoadMatrixOptions;
  if (o.maxCases !== undefined && (!Number.isSafeInteger(o.maxCases) || o.maxCases < 1)) {
    throw new RangeError(
      `loadMatrix: maxCases must be a whole number >= 1, found ${shown(o.maxCases)}`,
    );
  }
  if (o.filter !== undefined && o.filter !== null && !(o.filter instanceof Map)) {
    throw new RangeError(
      "loadMatrix: filter must be a parsed filter (parseFilter(text), matrix/case_id.ts) or " +
        `null, found ${shown(o.filter)}`,
    );
  }
  if (o.configRoot !== undefined && typeof o.configRoot !== "string") {
    throw new RangeError(
      `loadMatrix: configRoot must be a folder's path, found ${shown(o.configRoot)}`,
    );
  }
}

/**
 * The head count of each config path of a matrix (normalized, read from `baseDir`) whose
 * file reads as a config; one that does not is left out (its cases report it).
 */
async function headsOfConfigs(m: MatrixFile, baseDir: string): Promise<ConfigHeads> {
  const paths = new Set(
    m.groups.flatMap((g) => asList((g.axes as Axes).preset ?? [])).filter((p): p is string =>
      typeof p === "string" && isConfigPath(p)
    ),
  );
  const heads = new Map<string, number>();
  for (const p of paths) {
    const spec = await loadSpec(configFileOf(p, baseDir)).catch(() => null);
    if (spec !== null) heads.set(p, spec.numHeads);
  }
  return heads;
}

/**
 * Refuse (ConfigError, exit 2) a `--config-root` that is not a folder: a typo would pass
 * unnoticed while the matrix reads no config path, and else blame each path instead.
 */
async function checkConfigRoot(root: string): Promise<void> {
  const info = await Deno.stat(root).catch((e: unknown) => e);
  const problem = info instanceof Deno.errors.NotFound
    ? "names no folder (no such file or folder)"
    : info instanceof Error
    ? `cannot be read (${info.message})`
    : (info as Deno.FileInfo).isDirectory
    ? null
    : "is a file, not a folder";
  if (problem === null) return;
  throw new ConfigError("--config-root", [{
    path: "--config-root",
    value: root,
    message: `${problem}: it names the folder a matrix's config paths must stay inside ` +
      "(default: the matrix file's folder)",
  }], "not a folder");
}

/**
 * Load a bundled matrix by name or a matrix file by path: validated, its backends checked
 * against the registry ({@link unknownBackends}) and giving a group without a path axis
 * their path ({@link pathsOfBackends}), its preset names against the presets
 * (matrix/preset_names.ts), its config paths checked against their
 * root and for a file (matrix/config_paths.ts checkConfigPaths) and normalized (matrix/config_paths.ts: `./cfg.json` and
 * `cfg.json` are one preset, as is a `--filter` value of either), its excludes checked
 * ({@link checkExcludes}), its cases counted against the limit, then expanded (with a
 * filter, the whole matrix within the limit is walked for repeated cases as well). `file` and
 * `filter` are returned with their config paths normalized.
 *
 * @example
 * ```ts ignore
 * import { loadMatrix } from "./expand.ts";
 * const { cases } = await loadMatrix("smoke");
 * ```
 */
export async function loadMatrix(
  nameOrPath: string,
  options: LoadMatrixOptions = {},
): Promise<{ file: MatrixFile; cases: Case[]; filter: CaseFilter | null }> {
  checkLoadArguments(nameOrPath, options);
  const bundled = BUNDLED_MATRICES.includes(nameOrPath);
  if (options.configRoot !== undefined) await checkConfigRoot(options.configRoot);
  const url = bundled ? new URL(`./bundled/${nameOrPath}.json`, import.meta.url) : nameOrPath;
  // a YAML file is read as JSON and fails at its first line: say that matrices are JSON
  const yaml = /\.ya?ml$/i.test(nameOrPath);
  // the bundled names help a name that is no file; after a file's JSON error ("the file is
  // empty; bundled matrices: smoke, ...") they read as if the file were not taken as one
  const named = bundled || await Deno.lstat(nameOrPath).then(() => true, () => false);
  const raw = await readJsonFile(url, {
    what: "matrix",
    name: nameOrPath,
    hint: yaml
      ? "a matrix file is JSON, not YAML: write it as JSON (matrix/bundled/smoke.json shows " +
        "the form)"
      : named
      ? ""
      : `${bundledHint(nameOrPath)}bundled matrices: ${BUNDLED_MATRICES.join(", ")}`,
  });
  const validated = validateMatrix(raw, nameOrPath);
  const badBackends = unknownBackends(validated);
  if (badBackends.length) throw new ConfigError(nameOrPath, badBackends, "unknown backend");
  const { file: written, issues: mixedPaths } = pathsOfBackends(validated);
  if (mixedPaths.length) {
    throw new ConfigError(nameOrPath, mixedPaths, "backend axis of both paths");
  }
  const badPresets = unknownPresets(written);
  if (badPresets.length) throw new ConfigError(nameOrPath, badPresets, "unknown preset");
  const place = configPlace(nameOrPath, { bundled, configRoot: options.configRoot });
  await checkConfigPaths(written, nameOrPath, place);
  // One config file, one case id, however the matrix (or the filter) writes its path.
  const { file, spellings } = normalizeConfigPaths(written, place);
  checkExcludes(file, nameOrPath);
  const filter = options.filter ? normalizeFilterPresets(options.filter, place) : null;
  const configHeads = await headsOfConfigs(file, place.baseDir);
  const cases = expandMatrix(file, nameOrPath, {
    ...options,
    filter,
    presetSpellings: spellings,
    configHeads,
  });
  // A filter narrows the walk, so a case two groups repeat outside it went unsaid: the same
  // file was refused unfiltered and ran filtered (one nightly job red, its neighbour green).
  // The whole matrix is walked for repeats too, when it is within the limit and the default
  // one (report/case_groups.ts lifts the limit to re-read a run's matrix: a huge matrix
  // under a narrow filter must not be walked whole there).
  // So is every case's shape: a matrix with a broken group is a broken file, refused under any
  // filter (an oversized case, a thd case with sq > sk, or a layer case that is not
  // self-attention, in a group the filter left out ran
  // filtered and was refused unfiltered). Past the limit only the filtered cases are checked,
  // as the repeats are.
  const walkable = Math.min(options.maxCases ?? DEFAULT_MAX_CASES, DEFAULT_MAX_CASES);
  let checked: readonly Case[] = cases;
  if (filter && countCases(file).count <= walkable) {
    const broken: Case[] = [];
    for (const c of iterateCases(file, nameOrPath, { presetSpellings: spellings, configHeads })) {
      if (
        oversizedCases([c]).length || thdMoreQueriesThanKeys([c]).length ||
        layerNotSelfAttention([c]).length
      ) broken.push(c);
    }
    checked = broken;
  }
  const oversized = oversizedCases(checked);
  if (oversized.length) throw new ConfigError(nameOrPath, oversized, "case too large");
  const misread = thdMoreQueriesThanKeys(checked);
  if (misread.length) throw new ConfigError(nameOrPath, misread, "thd case with sq > sk");
  const neverRun = layerNotSelfAttention(checked);
  if (neverRun.length) {
    throw new ConfigError(nameOrPath, neverRun, "layer case that is not self-attention");
  }
  return { file, filter, cases };
}
