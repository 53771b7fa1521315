/**
 * Attribution: what changed between the environments of two runs (Deno, adapter or
 * driver, kernel source, harness revision, host), grouped into one line per group, and
 * which of those changes may explain one case's drift.
 *
 * @module
 */
import { diffFingerprints, type FingerprintChange } from "../report/fingerprint_diff.ts";
import type { Fingerprint } from "../results/types.ts";
import type { Attribution, BaselineCase, ChangeGroup } from "./types.ts";

/**
 * The group of a fingerprint field (`runtime.*` is Deno, `adapter.*` the adapter or
 * driver, `tuning.*` the plan tuning, `kernel.*` the kernel source, `harnessRevision` the
 * harness, `host.*` the host).
 *
 * @example
 * ```ts
 * import { changeGroup } from "./attribution.ts";
 * changeGroup("runtime.v8"); // "deno"
 * ```
 */
export function changeGroup(field: string): ChangeGroup {
  if (field.startsWith("runtime.")) return "deno";
  if (field.startsWith("adapter.")) return "adapter";
  if (field.startsWith("tuning.")) return "tuning";
  if (field.startsWith("kernel.")) return "kernel";
  if (field === "harnessRevision") return "harness";
  return "host";
}

const short = (v: string | null) =>
  v === null ? "none" : /^[0-9a-f]{40}(-dirty)?$/.test(v) ? v.slice(0, 10) + v.slice(40) : v;

function describe(c: FingerprintChange): string {
  const field = c.field.replace(/^(runtime|adapter|host|kernel)\./, "");
  if (c.field === "tuning.knobs") return `${c.from ?? "none"} → ${c.to ?? "none"}`;
  if (c.field === "adapter.features") {
    const a = new Set((c.from ?? "").split(",").filter(Boolean));
    const b = new Set((c.to ?? "").split(",").filter(Boolean));
    const added = [...b].filter((x) => !a.has(x)).map((x) => `+${x}`);
    const removed = [...a].filter((x) => !b.has(x)).map((x) => `-${x}`);
    return `features ${[...added, ...removed].join(" ")}`;
  }
  if (c.field.startsWith("kernel.")) {
    if (c.from === null) return `${field} added`;
    if (c.to === null) return `${field} removed`;
  }
  return `${field} ${short(c.from)} → ${short(c.to)}`;
}

const GROUP_TITLES: Readonly<Record<ChangeGroup, string>> = {
  deno: "Deno",
  adapter: "adapter or driver",
  tuning: "plan tuning",
  kernel: "kernel source",
  harness: "harness revision",
  host: "host",
};

/**
 * Group order in summaries.
 *
 * @example
 * ```ts
 * import { CHANGE_GROUPS } from "./attribution.ts";
 * CHANGE_GROUPS[0]; // "deno"
 * ```
 */
export const CHANGE_GROUPS: readonly ChangeGroup[] = [
  "deno",
  "adapter",
  "tuning",
  "kernel",
  "harness",
  "host",
];

/**
 * Diff two fingerprints and say, per group, what changed.
 *
 * @example
 * ```ts
 * import { attributeEnvironment } from "./attribution.ts";
 * import type { Fingerprint } from "../results/types.ts";
 * declare const a: Fingerprint, b: Fingerprint;
 * attributeEnvironment(a, b).summary; // e.g. ["Deno: deno 2.9.5 → 2.9.6"]
 * ```
 */
export function attributeEnvironment(from: Fingerprint, to: Fingerprint): Attribution {
  const changes = diffFingerprints(from, to);
  const groups: Partial<Record<ChangeGroup, string>> = {};
  for (const g of CHANGE_GROUPS) {
    const mine = changes.filter((c) => changeGroup(c.field) === g);
    if (mine.length === 0) continue;
    const text = g === "harness"
      ? `${short(mine[0].from)} → ${short(mine[0].to)}`
      : mine.map(describe).join("; ");
    groups[g] = `${GROUP_TITLES[g]}: ${text}`;
  }
  return { changes, summary: CHANGE_GROUPS.flatMap((g) => groups[g] ?? []), groups };
}

/**
 * What may explain one case's difference: the kernel files of its backend that changed
 * (by hash), then every other group of environment change, or a note that nothing
 * recorded changed.
 *
 * @example
 * ```ts ignore
 * import { attributeCase } from "./attribution.ts";
 * attributeCase(baseCase, currentCase, { from, to, environment });
 * // ["kernel source: absorbed.wgsl 6a9b739d7529ea3d → 0c1d…", "Deno: deno 2.9.5 → 2.9.6"]
 * ```
 */
export function attributeCase(
  base: BaselineCase,
  current: BaselineCase,
  context: { from: Fingerprint; to: Fingerprint; environment: Attribution },
): string[] {
  const out: string[] = [];
  // other inputs (the matrix's seed edited) explain other bits and errors before any change
  // of the environment does
  if (base.seed !== undefined && current.seed !== undefined && base.seed !== current.seed) {
    out.push(`input seed ${base.seed} → ${current.seed} (the matrix's seed: other inputs)`);
  }
  const files = [...new Set([...base.kernelFiles, ...current.kernelFiles])].sort();
  const changed = files.filter((f) =>
    (context.from.kernelHashes[f] ?? null) !== (context.to.kernelHashes[f] ?? null)
  );
  if (changed.length > 0) {
    out.push(
      `kernel source: ${
        changed.map((f) =>
          `${f} ${context.from.kernelHashes[f] ?? "absent"} → ${
            context.to.kernelHashes[f] ?? "absent"
          }`
        ).join(", ")
      }`,
    );
  }
  const g = context.environment.groups;
  for (const group of CHANGE_GROUPS) {
    if (group === "kernel") continue; // other kernels' files do not explain this case
    const line = g[group];
    if (line) out.push(line);
  }
  if (out.length === 0) {
    out.push(
      "nothing recorded changed (same Deno, adapter, driver, plan tuning, kernels, harness, host)",
    );
  }
  return out;
}
