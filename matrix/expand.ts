/**
 * Expanding a matrix file into cases: the cartesian product of each group's axes
 * (in the spirit of the WebGPU CTS params builder's combine), minus its excludes
 * (filter), with stable ids. Duplicated ids across groups are an error.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "../adapter/errors.ts";
import { readJsonFile } from "../adapter/json_file.ts";
import { caseId } from "./case_id.ts";
import { parseMatrixFile } from "./schema.ts";
import {
  type Case,
  CASE_DEFAULTS,
  CASE_ID_ORDER,
  type CaseParams,
  type MatrixFile,
} from "./types.ts";

type Axes = Partial<Record<keyof CaseParams, unknown>>;

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

function matchesPartial(p: CaseParams, partial: Axes): boolean {
  return Object.entries(partial).every(([k, v]) =>
    asList(v).includes(p[k as keyof CaseParams] as unknown)
  );
}

/**
 * Validate a parsed matrix file (throws a `ConfigError` naming each bad entry).
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
    const issues: ConfigIssue[] = parsed.error.issues.map((i) => {
      let v: unknown = raw;
      for (const k of i.path) {
        // a scalar axis value is a list of one: index 0 of a non-array is the value itself
        if (k === 0 && !Array.isArray(v)) continue;
        v = v !== null && typeof v === "object"
          ? (v as Record<PropertyKey, unknown>)[k]
          : undefined;
      }
      const keys = "keys" in i && Array.isArray(i.keys) ? `.${i.keys.join(",")}` : "";
      return {
        path: (i.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("")
          .replace(/^\./, "") || "(root)") + keys,
        value: keys ? undefined : v,
        message: i.message,
      };
    });
    throw new ConfigError(source, issues, "invalid matrix");
  }
  const m = parsed.data;
  const issues: ConfigIssue[] = [];
  const profiles = new Set(["native", ...Object.keys(m.devices ?? {})]);
  m.groups.forEach((g, gi) => {
    asList((g.axes as Axes).device ?? "native").forEach((d, di) => {
      if (!profiles.has(d as string)) {
        issues.push({
          path: `groups[${gi}].axes.device[${di}]`,
          value: d,
          message: `is not a device profile; valid: ${[...profiles].join(", ")}`,
        });
      }
    });
  });
  if (issues.length) throw new ConfigError(source, issues, "invalid matrix");
  return m;
}

/**
 * Expand a validated matrix into cases, in file order.
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
export function expandMatrix(m: MatrixFile, source: string): Case[] {
  const cases: Case[] = [];
  const where = new Map<string, number>();
  m.groups.forEach((g, gi) => {
    const axes = g.axes as Axes;
    let combos: CaseParams[] = [{ ...CASE_DEFAULTS }];
    for (const key of CASE_ID_ORDER) {
      if (axes[key] === undefined) continue;
      combos = combos.flatMap((c) => asList(axes[key]).map((v) => ({ ...c, [key]: v })));
    }
    const excludes = (g.exclude ?? []) as Axes[];
    for (const params of combos) {
      if (excludes.some((e) => matchesPartial(params, e))) continue;
      const id = caseId(params);
      const prev = where.get(id);
      if (prev !== undefined) {
        throw new ConfigError(source, [{
          path: `groups[${gi}]`,
          value: id,
          message: `repeats a case of groups[${prev}]; each case id must appear once`,
        }], "invalid matrix");
      }
      where.set(id, gi);
      cases.push({
        id,
        params,
        expect: g.expect ?? { support: "supported" },
        seed: m.seed ?? 1,
        deviceProfile: params.device === "native" ? {} : m.devices?.[params.device] ?? {},
      });
    }
  });
  return cases;
}

/** Bundled matrix names. */
export const BUNDLED_MATRICES: readonly string[] = ["smoke", "nightly", "adapter"];

/**
 * Load a bundled matrix by name or a matrix file by path, validated and expanded.
 *
 * @example
 * ```ts ignore
 * import { loadMatrix } from "./expand.ts";
 * const { cases } = await loadMatrix("smoke");
 * ```
 */
export async function loadMatrix(nameOrPath: string): Promise<{ file: MatrixFile; cases: Case[] }> {
  const bundled = BUNDLED_MATRICES.includes(nameOrPath);
  const url = bundled ? new URL(`./bundled/${nameOrPath}.json`, import.meta.url) : nameOrPath;
  const raw = await readJsonFile(url, {
    what: "matrix",
    name: nameOrPath,
    hint: `bundled matrices: ${BUNDLED_MATRICES.join(", ")}`,
  });
  const file = validateMatrix(raw, nameOrPath);
  return { file, cases: expandMatrix(file, nameOrPath) };
}
