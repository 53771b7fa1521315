/**
 * A user backend's answer, checked where the harness receives it (docs/backends.md,
 * `check(query)`): an answer that is not what the contract says (a Promise, a missing
 * field, another path than the module's, a variant field that is not a positive integer,
 * an empty reason) is refused with a {@link BackendAnswerError} naming the backend, its
 * module, the field, what it was and what would be valid, never read as if it were right.
 * The bundled backends are not checked here (tests/backend_contract_test.ts holds them to
 * the contract).
 *
 * @module
 */
import { type Backend, loopHelpers, type SupportAnswer, type SupportQuery } from "./backends.ts";
import { normalizeLayout } from "./layout.ts";
import { presetSpec } from "./presets.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { isRecord } from "../util/is_record.ts";
import { throwSite } from "../util/error_site.ts";
import { z } from "zod";
import { HARNESS_CODE_NAMESPACES, REASON_CODES, REASON_CODES_DOC } from "./reason_codes.ts";

/** A reason code: letters, digits, `.`, `_`, `-` (`:` is the prefix `auto` adds). */
export const REASON_CODE_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * A backend's `check()` threw or gave an answer the harness cannot use. A ConfigError
 * (bad input: exit 2 in the CLI; `run` records the case as invalid with this message).
 *
 * @example
 * ```ts
 * import { BackendAnswerError } from "./backend_answer.ts";
 * const e = new BackendAnswerError("naive", "mod.ts", [
 *   { path: "variant.workgroupSize", value: -5, message: "must be a positive integer" },
 * ]);
 * e.message.split("\n")[0]; // "backend naive (module mod.ts): check() broke the backend contract ..."
 * ```
 */
export class BackendAnswerError extends ConfigError {
  /** The backend whose answer was refused. */
  readonly backend: string;
  /** Build the error for backend `id` (loaded from `module`, when known). */
  constructor(id: string, module: string | undefined, issues: readonly ConfigIssue[]) {
    super(
      `backend ${id}${module === undefined ? "" : ` (module ${module})`}`,
      issues,
      "check() broke the backend contract (docs/backends.md: check(query))",
    );
    this.name = "BackendAnswerError";
    this.backend = id;
  }
}

/** The variant fields every answer has: positive integers. */
const VARIANT_COUNTS = [
  ["workgroupSize", "invocations per workgroup"],
  ["headsPerTile", "heads per workgroup (1 when a workgroup handles one head)"],
  ["headsPerInvocation", "heads one invocation handles (usually 1)"],
  ["queryTile", "queries per tile (1 for decode)"],
  ["keysPerBlock", "keys per block of the key loop (query.loop.keysPerBlock)"],
  ["kvSplits", "KV splits (1 = a single pass)"],
] as const;

/** Variant fields a kernel may set: positive integers when present. */
const OPTIONAL_COUNTS = [
  "decodeStep",
  "valueRowGroups",
  "columnsPerInvocation",
  "scoreVec4PerRow",
  "valueSplits",
  "keysPerValueSplit",
] as const;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null &&
    typeof (v as { then?: unknown }).then === "function";
}

function positiveInteger(v: unknown): boolean {
  return typeof v === "number" && Number.isSafeInteger(v) && v > 0;
}

/** What a value is, for a message (a type where the value itself says little). */
function shown(v: unknown): unknown {
  if (typeof v === "function") return "(a function)";
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  return v;
}

/** A code in a harness namespace (`limits.`, `device.`, ...) that the harness does not list. */
function madeUpHarnessCode(code: string): boolean {
  const dot = code.indexOf(".");
  return dot > 0 && HARNESS_CODE_NAMESPACES.includes(code.slice(0, dot)) &&
    !REASON_CODES.includes(code);
}

/** A value `ok` accepts, else one issue with `error` (never one per failed check). */
const must = (ok: (v: unknown) => boolean, error: string) => z.custom((v) => ok(v), { error });
const nonEmpty = (v: unknown) => typeof v === "string" && v.trim() !== "";
const posInt = (what: string) => must(positiveInteger, `must be a positive integer (${what})`);

/** `reasons` and `path`: part of every answer. */
const answerSchema = (path: string) =>
  z.object({
    reasons: z.array(
      z.object({
        code: must(
          (v) => typeof v === "string" && REASON_CODE_PATTERN.test(v),
          `must be a code matching ${REASON_CODE_PATTERN} (e.g. "device.loop-budget"; ` +
            `":" is reserved for the backend prefix auto adds)`,
        ).pipe(must(
          (v) => !madeUpHarnessCode(v as string),
          "must be a code the harness lists when it is in a harness namespace " +
            `(${HARNESS_CODE_NAMESPACES.map((n) => `${n}.`).join(", ")}; the list: ` +
            `${REASON_CODES_DOC}): one made up there reads as the harness's own (a device.` +
            " or limits. code as this device lacking something, so a run that tested " +
            "nothing passed); give codes of your own a namespace of your own (mine.too-big)",
        )),
        message: must(
          nonEmpty,
          "must be a non-empty string naming the offending value and what would be valid",
        ),
      }, { error: "must be { code, message }" }),
      { error: "must be an array of { code, message } (empty when the case is supported)" },
    ),
    path: must(
      (v) => v === path,
      `must be "${path}", the path the module exports ` +
        `(path = "${path}"): a backend computes one path`,
    ),
  });

/** What a supported answer's plan is made of. */
const planSchema = (query: SupportQuery) =>
  z.object({
    variant: z.object({
      family: must(nonEmpty, "must be a non-empty string naming the kernel"),
      dtype: must(
        (v) => v === query.dtype,
        `must be the query's storage dtype "${query.dtype}" (the harness uploads the ` +
          "buffers in it); refuse the case with a reason instead",
      ),
      ...Object.fromEntries(VARIANT_COUNTS.map(([name, what]) => [name, posInt(what)])),
      ...Object.fromEntries(OPTIONAL_COUNTS.map((name) => [
        name,
        must(positiveInteger, "must be a positive integer when set (or left out)").optional(),
      ])),
      unrolledLoops: z.boolean({ error: "must be true or false when set" }).optional(),
      subgroups: z.boolean({ error: "must be true or false when set" }).optional()
        .refine((v) => v !== true || query.caps?.features.includes("subgroups"), {
          error: "needs the WebGPU feature subgroups, which this device lacks: set it only " +
            'when query.caps.features includes "subgroups"',
        }),
    }, {
      error: "must be an object (family, dtype, workgroupSize, headsPerTile, " +
        "headsPerInvocation, queryTile, keysPerBlock, kvSplits)",
    }),
    buffers: z.array(
      z.object({
        name: must((v) => typeof v === "string" && v !== "", "must be a non-empty string"),
        bytes: must(
          (v) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0,
          "must be a whole number of bytes (0 or more)",
        ),
      }, { error: "must be { name, bytes }" }),
      { error: "must be an array of { name, bytes }: every buffer the launcher allocates" },
    ),
    ...Object.fromEntries(["keyWidth", "valueWidth"].map((name) => [
      name,
      must(
        positiveInteger,
        "must be a positive integer (elements its kernel reads per key / " +
          "accumulates per value)",
      ),
    ])),
  });

/**
 * A supported answer that this device cannot run at all (a workgroup over
 * maxComputeInvocationsPerWorkgroup, a buffer over maxBufferSize): the pipeline or the
 * buffer could not even be created, so check() had to refuse the case with a reason.
 * Without a device (caps null) nothing is known to compare.
 */
function overDeviceLimits(answer: Record<string, unknown>, query: SupportQuery): ConfigIssue[] {
  const limits = query.caps?.limits;
  if (limits === undefined) return [];
  const issues: ConfigIssue[] = [];
  const wg = isRecord(answer.variant) ? answer.variant.workgroupSize : undefined;
  const maxWg = limits.maxComputeInvocationsPerWorkgroup;
  if (typeof wg === "number" && maxWg !== undefined && wg > maxWg) {
    issues.push({
      path: "variant.workgroupSize",
      value: wg,
      message: `is over this device's maxComputeInvocationsPerWorkgroup ${maxWg}: no pipeline ` +
        "of that size can be created; refuse the case with a reason (query.caps.limits has " +
        "the limit)",
    });
  }
  const maxBuffer = limits.maxBufferSize;
  if (Array.isArray(answer.buffers) && maxBuffer !== undefined) {
    answer.buffers.forEach((b, i) => {
      if (isRecord(b) && typeof b.bytes === "number" && b.bytes > maxBuffer) {
        issues.push({
          path: `buffers[${i}].bytes`,
          value: b.bytes,
          message: `is over this device's maxBufferSize ${maxBuffer}: the buffer cannot be ` +
            "created; refuse the case with a reason (query.caps.limits has the limit)",
        });
      }
    });
  }
  return issues;
}

/**
 * Issues of a schema as the contract names them (`buffers[1].name`), with their values.
 * (Each field is one `must` check, so a value gets one message, never one per failed rule.)
 */
function issuesOf(schema: z.ZodType, answer: Record<string, unknown>): ConfigIssue[] {
  const r = schema.safeParse(answer);
  return r.success ? [] : r.error.issues.map((i) => {
    let value: unknown = answer;
    for (const k of i.path) {
      value = isRecord(value) || Array.isArray(value) ? value[k as never] : undefined;
    }
    const path = i.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("");
    return { path: path.replace(/^\./, ""), value: shown(value), message: i.message };
  });
}

/**
 * The key and value widths the harness's buffers give a path (the buffer table of
 * docs/backends.md): the absorbed path reads latent cache rows (`kv_lora_rank +
 * qk_rope_head_dim`) and accumulates the latent (`kv_lora_rank`) that the up-projection
 * reads; the expanded path reads K rows (`qk_nope_head_dim + qk_rope_head_dim`) and V rows
 * (`v_head_dim`). The harness's own passes (`kit.combineSplits`, `kit.keyValueTextures`)
 * size their rows by the plan's widths, so another width reads rows out of step.
 */
function pathWidths(
  path: Backend["path"],
  spec: SupportQuery["spec"],
): Record<"keyWidth" | "valueWidth", { width: number; what: string }> {
  const r = spec.kvLoraRank;
  const rope = spec.qkRopeHeadDim;
  return path === "absorbed"
    ? {
      keyWidth: {
        width: r + rope,
        what: `kv_lora_rank ${r} + qk_rope_head_dim ${rope}: a row of kvCache`,
      },
      valueWidth: { width: r, what: `kv_lora_rank ${r}: the latent the up-projection reads` },
    }
    : {
      keyWidth: {
        width: spec.kChannels,
        what: `qk_nope_head_dim ${spec.qkNopeHeadDim} + qk_rope_head_dim ${rope}: a row of K`,
      },
      valueWidth: { width: spec.vChannels, what: `v_head_dim ${spec.vChannels}: a row of V` },
    };
}

/** Widths that are positive integers but not the path's (the schema names the others). */
function wrongWidths(
  answer: Record<string, unknown>,
  path: Backend["path"],
  spec: SupportQuery["spec"],
): ConfigIssue[] {
  const widths = pathWidths(path, spec);
  return (["keyWidth", "valueWidth"] as const).flatMap((name) => {
    const v = answer[name];
    const { width, what } = widths[name];
    return positiveInteger(v) && v !== width
      ? [{
        path: name,
        value: v,
        message: `must be ${width} on the ${path} path (${what}, as the harness lays out ` +
          "the buffers)",
      }]
      : [];
  });
}

/** What JSON.stringify would change or refuse in a value, described, or null for none. */
function notJson(v: unknown): string | null {
  switch (typeof v) {
    case "number":
      return Number.isFinite(v) ? null : `${v} (JSON writes it as null)`;
    case "string":
    case "boolean":
      return null;
    case "bigint":
      return `${v}n (a bigint: JSON cannot write it)`;
    case "function":
    case "symbol":
      return `(a ${typeof v}: JSON leaves it out)`;
    case "undefined":
      return "(undefined: JSON leaves it out, or writes null in an array)";
  }
  if (v === null) return null;
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
    const kind = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return `(a ${typeof kind === "string" && kind !== "" ? kind : "class instance"}: ` +
      "not an array or a plain object)";
  }
  return null;
}

/**
 * Values in `fields` of the answer that are not JSON data: the plan (`variant`, `buffers`)
 * is recorded and digested as JSON (the plan digest of every result), where a bigint or a
 * cycle throws and NaN, a function or a Map change without a word, so a change of them
 * would not show as support drift; `reasons` are recorded with the result, and a bigint in
 * one stopped the run as if the disk were full. One issue per value, at most 10.
 */
function nonJsonValues(answer: Record<string, unknown>, fields: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (v: unknown, at: string, above: unknown[]) => {
    if (issues.length >= 10) return;
    if (typeof v === "object" && v !== null && above.includes(v)) {
      issues.push({
        path: at,
        value: "(a cycle)",
        message: "must be JSON data: it contains itself, which JSON cannot write",
      });
      return;
    }
    const problem = notJson(v);
    if (problem !== null) {
      issues.push({
        path: at,
        value: problem,
        message: "must be JSON data (a finite number, a string, true or false, null, or an " +
          "array or plain object of them): the answer is recorded and digested as JSON",
      });
      return;
    }
    if (typeof v !== "object" || v === null) return;
    const inner = [...above, v];
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`, inner));
    else {
      for (const [k, x] of Object.entries(v)) {
        // an optional field left undefined is left out, as the contract allows
        if (x !== undefined) walk(x, `${at}.${k}`, inner);
      }
    }
  };
  for (const name of fields) {
    const v = answer[name];
    if (typeof v === "object" && v !== null) walk(v, name, []);
  }
  return issues;
}

/** Buffer names listed twice (the launcher finds a buffer's size by its name). */
function repeatedBuffers(buffers: unknown): ConfigIssue[] {
  const seen = new Set<string>();
  return (Array.isArray(buffers) ? buffers : []).flatMap((b, i) => {
    if (!isRecord(b) || typeof b.name !== "string" || b.name === "") return [];
    if (!seen.has(b.name)) {
      seen.add(b.name);
      return [];
    }
    return [{
      path: `buffers[${i}].name`,
      value: b.name,
      message: "is listed twice: each buffer once (the launcher finds its size by name)",
    }];
  });
}

/**
 * Check a backend's answer to `query` against the contract (docs/backends.md) and return
 * it typed, or throw a {@link BackendAnswerError} listing every problem. Always checked:
 * that it is an object and not a Promise, its `reasons` (each a `{ code, message }` with
 * a code and a message), and its `path` (the backend's own). When it says the case is
 * supported (no reasons), also what the plan is made of: `variant` (its dtype the
 * query's, its counts positive integers, `subgroups` only on a device with them),
 * `buffers` (both JSON data throughout: no NaN, bigint, function or cycle) and the
 * `keyWidth` and `valueWidth` of the backend's path.
 *
 * @example
 * ```ts
 * import { checkSupportAnswer } from "./backend_answer.ts";
 * import { BUNDLED_BACKENDS, loopHelpers } from "./backends.ts";
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * const query = {
 *   spec: presetSpec("tiny"), dtype: "f32" as const, caps: null, loop: loopHelpers(null),
 *   workgroupElementCap: null,
 *   layout: normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true }),
 * };
 * const backend = { id: "mine", path: "absorbed" as const };
 * try { checkSupportAnswer({}, backend, query, "mine.ts"); } catch (e) { (e as Error).message; }
 * // "backend mine (module mine.ts): check() broke the backend contract ...\n  reasons: (missing) ..."
 * checkSupportAnswer(BUNDLED_BACKENDS["wgsl-absorbed"].check(query), backend, query).path;
 * // "absorbed"
 * ```
 */
export function checkSupportAnswer(
  answer: unknown,
  backend: Pick<Backend, "id" | "path">,
  query: SupportQuery,
  module?: string,
): SupportAnswer {
  const fail = (issues: ConfigIssue[]) => new BackendAnswerError(backend.id, module, issues);
  if (isThenable(answer)) {
    // Its eventual rejection is part of this error, not an unhandled one.
    Promise.resolve(answer).catch(() => {});
    throw fail([{
      path: "(answer)",
      value: "(a Promise)",
      message: "must be the answer itself: check() is synchronous (pure and GPU-free), so it " +
        "must not be async or return a Promise",
    }]);
  }
  if (!isRecord(answer)) {
    throw fail([{
      path: "(answer)",
      value: shown(answer),
      message: "must be an object { reasons, path, variant, buffers, keyWidth, valueWidth }",
    }]);
  }
  let issues: ConfigIssue[];
  try {
    const supported = Array.isArray(answer.reasons) && answer.reasons.length === 0;
    issues = [
      ...issuesOf(answerSchema(backend.path), answer),
      ...(supported
        ? [
          ...issuesOf(planSchema(query), answer),
          ...repeatedBuffers(answer.buffers),
          ...wrongWidths(answer, backend.path, query.spec),
          ...overDeviceLimits(answer, query),
        ]
        : []),
    ];
    // a value the fields' checks named already (a NaN count) is named once
    const named = new Set(issues.map((i) => i.path));
    const recorded = supported ? ["reasons", "variant", "buffers"] : ["reasons"];
    issues.push(...nonJsonValues(answer, recorded).filter((i) => !named.has(i.path)));
  } catch (e) {
    // Reading it threw (a getter, a Proxy): it is not the plain data an answer must be.
    throw fail([{
      path: "(answer)",
      value: "(an object)",
      message: `could not be read (${e instanceof Error ? e.message : String(e)}): an answer ` +
        "is plain data, with no getter or proxy that throws",
    }]);
  }
  if (issues.length > 0) throw fail(issues);
  return answer as unknown as SupportAnswer;
}

/**
 * A deep, frozen copy of `v`'s plain objects and arrays (a typed array copied, a function or
 * any other object as it is): what a user backend's check() is given (its query) and its
 * launch() (its plan), so that one that changes them (`layout.seqs.sort(...)` to find the
 * longest sequence) throws in its own line instead of reordering the harness's layout,
 * which then failed every varlen case's parity as if the kernel were wrong.
 *
 * @example
 * ```ts
 * import { readOnlyCopy } from "./backend_answer.ts";
 * const layout = { seqs: [{ kLen: 5 }, { kLen: 9 }] };
 * const copy = readOnlyCopy(layout);
 * Object.isFrozen(copy.seqs); // true
 * copy.seqs === layout.seqs; // false
 * ```
 */
export function readOnlyCopy<T>(v: T, seen: Map<object, unknown> = new Map()): T {
  if (typeof v !== "object" || v === null) return v;
  if (seen.has(v)) return seen.get(v) as T;
  if (ArrayBuffer.isView(v)) {
    const copy = (v as unknown as { slice(): unknown }).slice?.() ?? v;
    seen.set(v, copy);
    return copy as T;
  }
  const proto = Object.getPrototypeOf(v);
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return v;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
  seen.set(v, copy);
  for (const [k, x] of Object.entries(v)) {
    (copy as Record<string, unknown>)[k] = readOnlyCopy(x, seen);
  }
  return Object.freeze(copy) as T;
}

/**
 * What a TypeError from writing to a {@link readOnlyCopy} says (V8's wordings).
 *
 * @example
 * ```ts
 * import { WROTE_READ_ONLY } from "./backend_answer.ts";
 * WROTE_READ_ONLY.test("Cannot assign to read only property '0' of object"); // true
 * ```
 */
export const WROTE_READ_ONLY: RegExp =
  /read[ -]only|not extensible|Cannot (?:assign|add|delete|define)/i;

/**
 * Ask a user backend's `check` and check the answer ({@link checkSupportAnswer}): a
 * check that throws is refused the same way (the contract: every failing reason, never a
 * throw), naming the backend and its module. The check is given a frozen copy of the query:
 * one that changes it throws there, and the harness's own layout and spec stay as they were.
 *
 * @example
 * ```ts
 * import { askBackend } from "./backend_answer.ts";
 * import { BUNDLED_BACKENDS, loopHelpers } from "./backends.ts";
 * import { normalizeLayout } from "./layout.ts";
 * import { presetSpec } from "./presets.ts";
 * const query = {
 *   spec: presetSpec("tiny"), dtype: "f32" as const, caps: null, loop: loopHelpers(null),
 *   workgroupElementCap: null,
 *   layout: normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true }),
 * };
 * askBackend({ ...BUNDLED_BACKENDS["wgsl-absorbed"], id: "copy" }, query).reasons.length > 0;
 * // true: there is no device
 * ```
 */
export function askBackend(
  backend: Backend,
  query: SupportQuery,
  module?: string,
): SupportAnswer {
  let answer: unknown;
  try {
    answer = backend.check(readOnlyCopy(query));
  } catch (e) {
    const wrote = e instanceof TypeError && WROTE_READ_ONLY.test(e.message)
      ? " (the query is read-only: check() must not change it; copy what it sorts or edits)"
      : "";
    const why = e instanceof Error ? `${e.name}: ${e.message.split("\n")[0]}${wrote}` : String(e);
    // The question it threw on (at load the harness asks with no device: caps null), and
    // where in its own file.
    throw new BackendAnswerError(backend.id, module, [{
      path: "check",
      value: why + throwSite(e),
      message: `was thrown when asked about ${query.spec.name}, ${query.dtype}, ${
        query.caps === null ? "caps null (no device: the load-time check)" : "this device's caps"
      }: check() must return every failing reason as { code, message }, never throw`,
    }]);
  }
  return checkSupportAnswer(answer, backend, query, module);
}

/**
 * Ask a backend's check once with no device (as `explain --no-device` does): a tiny f32
 * decode. An answer that breaks the contract whatever the case (a Promise, `{}`, another
 * path) is then refused when the module loads, before any case runs. Throws
 * BackendAnswerError.
 *
 * @example
 * ```ts
 * import { probeBackend } from "./backend_answer.ts";
 * import { BUNDLED_BACKENDS } from "./backends.ts";
 * probeBackend(BUNDLED_BACKENDS["wgsl-absorbed"]); // fine
 * ```
 */
export function probeBackend(backend: Backend, module?: string): void {
  askBackend(backend, {
    spec: presetSpec("tiny"),
    layout: normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true }),
    dtype: "f32",
    caps: null,
    loop: loopHelpers(null),
    workgroupElementCap: null,
  }, module);
}
