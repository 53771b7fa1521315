/**
 * Layout normalization: bshd, sbhd and packed thd (with cu_seqlens, optionally
 * padded) become one {@link NormalizedLayout}: sequences over logical tokens, the
 * buffer row of every token, RoPE positions restarting at 0 in every sequence,
 * sequence ids, and the bottom-right causal offset of each sequence.
 *
 * Query positions are bottom-right aligned with the keys: query i of a sequence
 * with qLen queries and kLen keys sits at position kLen - qLen + i (clamped at 0
 * when a sequence has more queries than keys). For prefill (qLen = kLen) that is
 * 0..n-1; for decode against a cache of length L it is L - s_q + i.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from "./errors.ts";
import type { LayoutRequest, NormalizedLayout, Paging, SequenceSpan } from "./types.ts";

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

function checkCu(
  name: string,
  cu: readonly number[] | undefined,
  issues: ConfigIssue[],
  expectLength?: number,
): boolean {
  if (cu === undefined) return true;
  if (!Array.isArray(cu) || cu.length < 2) {
    issues.push({ path: name, value: cu, message: "must list at least two offsets, e.g. 0,5,12" });
    return false;
  }
  const bad = cu.findIndex((v) => !isInt(v) || v < 0);
  if (bad >= 0) {
    issues.push({
      path: `${name}[${bad}]`,
      value: cu[bad],
      message: "must be a non-negative integer",
    });
    return false;
  }
  let ok = true;
  if (cu[0] !== 0) {
    issues.push({ path: `${name}[0]`, value: cu[0], message: "must be 0 (offsets start at 0)" });
    ok = false;
  }
  for (let i = 1; i < cu.length; i++) {
    if (cu[i] < cu[i - 1]) {
      issues.push({
        path: `${name}[${i}]`,
        value: cu[i],
        message: `must be >= the previous offset ${cu[i - 1]} (offsets are non-decreasing)`,
      });
      ok = false;
      break;
    }
  }
  if (expectLength !== undefined && cu.length !== expectLength) {
    issues.push({
      path: name,
      value: cu,
      message: `must have ${expectLength} entries (one per sequence, plus one), like cuSeqlensQ`,
    });
    ok = false;
  }
  return ok;
}

/**
 * Validate a paged cache against the key length of every sequence and return the
 * row function of each sequence. Every problem is pushed to `issues`.
 */
function pagedRows(
  paging: Paging,
  kLens: readonly number[],
  issues: ConfigIssue[],
): ((j: number) => number)[] | null {
  const { pageSize, numPages, blockTable } = paging;
  const before = issues.length;
  if (!isInt(pageSize) || pageSize < 1) {
    issues.push({ path: "paging.pageSize", value: pageSize, message: "must be an integer >= 1" });
  }
  if (!isInt(numPages) || numPages < 0) {
    issues.push({ path: "paging.numPages", value: numPages, message: "must be an integer >= 0" });
  }
  if (!Array.isArray(blockTable) || blockTable.length !== kLens.length) {
    issues.push({
      path: "paging.blockTable",
      value: Array.isArray(blockTable) ? `${blockTable.length} rows` : blockTable,
      message: `must have one row per sequence (${kLens.length})`,
    });
  }
  if (issues.length > before) return null;
  const owner = new Map<number, string>();
  kLens.forEach((kLen, b) => {
    const need = Math.ceil(kLen / pageSize);
    const row = blockTable[b];
    if (!Array.isArray(row) || row.length < need) {
      issues.push({
        path: `paging.blockTable[${b}]`,
        value: Array.isArray(row) ? `${row.length} entries` : row,
        message: `needs at least ${need} page ids for ${kLen} keys of page size ${pageSize}`,
      });
      return;
    }
    for (let p = 0; p < need; p++) {
      const id = row[p];
      if (!isInt(id) || id < 0 || id >= numPages) {
        issues.push({
          path: `paging.blockTable[${b}][${p}]`,
          value: id,
          message: `must be a page id in [0, ${numPages})`,
        });
      } else if (owner.has(id)) {
        issues.push({
          path: `paging.blockTable[${b}][${p}]`,
          value: id,
          message: `page already used by ${owner.get(id)}; a page holds one sequence's keys`,
        });
      } else {
        owner.set(id, `blockTable[${b}][${p}]`);
      }
    }
  });
  if (issues.length > before) return null;
  return kLens.map((_, b) => (j: number) =>
    blockTable[b][Math.floor(j / pageSize)] * pageSize + (j % pageSize)
  );
}

/** Options of {@link normalizeLayout}. */
export interface NormalizeLayoutOptions {
  /** Rows the query buffer really has (thd): the last offset must equal it. */
  qRows?: number;
  /** Rows the key buffer really has (thd): the last offset must equal it. */
  kRows?: number;
  /** Name used in error messages. */
  source?: string;
}

/** A sequence's span as {@link build} takes it. */
interface Span {
  qLen: number;
  kLen: number;
  qRow: (i: number) => number;
  kRow: (j: number) => number;
  /** Whether kRow increases with j (unpaged): its range is then its ends. */
  kRowIncreasing: boolean;
}

/** The lowest and highest key buffer row of each sequence of a layout {@link build} made. */
const K_ROW_RANGES = new WeakMap<NormalizedLayout, readonly { lo: number; hi: number }[]>();

/**
 * The lowest and highest buffer row of sequence `seq`'s keys (null when it has none),
 * without walking `kRowOf` for a layout {@link normalizeLayout} made: the adapter's binding
 * checks read it, so that resolving a case never builds its per-token rows.
 *
 * @example
 * ```ts
 * import { kRowRange, normalizeLayout } from "./layout.ts";
 * const l = normalizeLayout({ kind: "sbhd", batch: 2, seqQ: 1, seqK: 3, causal: true });
 * kRowRange(l, 1); // { lo: 1, hi: 5 }
 * ```
 */
export function kRowRange(
  layout: NormalizedLayout,
  seq: number,
): { lo: number; hi: number } | null {
  const s = layout.seqs[seq];
  if (s.kLen === 0) return null;
  const known = K_ROW_RANGES.get(layout);
  if (known !== undefined) return known[seq];
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = s.kStart; j < s.kStart + s.kLen; j++) {
    lo = Math.min(lo, layout.kRowOf[j]);
    hi = Math.max(hi, layout.kRowOf[j]);
  }
  return { lo, hi };
}

/** The per-token arrays of a layout, built on first read (a long case has millions). */
type TokenRows = Pick<
  NormalizedLayout,
  "qRowOf" | "kRowOf" | "qPositions" | "kPositions" | "qSeqId" | "kSeqId"
>;

function build(
  kind: NormalizedLayout["kind"],
  causal: boolean,
  spans: Span[],
  qRows: number,
  kRows: number,
  pageSize: number | null = null,
): NormalizedLayout {
  const seqs: SequenceSpan[] = [];
  const ranges: { lo: number; hi: number }[] = [];
  let qStart = 0;
  let kStart = 0;
  for (const s of spans) {
    seqs.push({ qStart, qLen: s.qLen, kStart, kLen: s.kLen, causalOffset: s.kLen - s.qLen });
    let lo = Infinity;
    let hi = -Infinity;
    if (s.kRowIncreasing && s.kLen > 0) {
      lo = s.kRow(0);
      hi = s.kRow(s.kLen - 1);
    } else {
      for (let j = 0; j < s.kLen; j++) {
        const row = s.kRow(j);
        if (row < lo) lo = row;
        if (row > hi) hi = row;
      }
    }
    ranges.push({ lo, hi });
    qStart += s.qLen;
    kStart += s.kLen;
  }
  const totalQ = qStart;
  const totalK = kStart;
  let rows: TokenRows | null = null;
  const tokenRows = (): TokenRows => {
    if (rows !== null) return rows;
    const qRowOf = new Array<number>(totalQ);
    const kRowOf = new Array<number>(totalK);
    const qPositions = new Array<number>(totalQ);
    const kPositions = new Array<number>(totalK);
    const qSeqId = new Array<number>(totalQ);
    const kSeqId = new Array<number>(totalK);
    spans.forEach((s, id) => {
      const { qStart, kStart, causalOffset } = seqs[id];
      for (let i = 0; i < s.qLen; i++) {
        qRowOf[qStart + i] = s.qRow(i);
        qPositions[qStart + i] = Math.max(0, causalOffset + i);
        qSeqId[qStart + i] = id;
      }
      for (let j = 0; j < s.kLen; j++) {
        kRowOf[kStart + j] = s.kRow(j);
        kPositions[kStart + j] = j;
        kSeqId[kStart + j] = id;
      }
    });
    rows = { qRowOf, kRowOf, qPositions, kPositions, qSeqId, kSeqId };
    // from now on plain properties: the reference and the kernels' tables read them per token
    for (const [key, value] of Object.entries(rows)) {
      Object.defineProperty(shape, key, { value, enumerable: true, configurable: true });
    }
    return rows;
  };
  const shape: Omit<NormalizedLayout, keyof TokenRows> = {
    kind,
    causal,
    seqs,
    totalQ,
    totalK,
    qRows,
    kRows,
    pageSize,
  };
  // The per-token arrays are enumerable getters (JSON, spreads and comparisons see them as
  // before) that build them all on the first read and then give way to the arrays.
  for (const key of ["qRowOf", "kRowOf", "qPositions", "kPositions", "qSeqId", "kSeqId"] as const) {
    Object.defineProperty(shape, key, {
      enumerable: true,
      configurable: true,
      get: () => tokenRows()[key],
    });
  }
  const layout = shape as NormalizedLayout;
  K_ROW_RANGES.set(layout, ranges);
  return layout;
}

/**
 * The problems of one cumulative-offsets list (at least two offsets, non-negative
 * integers, starting at 0, non-decreasing), as {@link normalizeLayout} reports them, with
 * `name` as the path: for a caller that must check the list before using its last offset
 * (`layer --cu-seqlens`). Empty when the list is well formed.
 *
 * @example
 * ```ts
 * import { cuSeqlensIssues } from "./layout.ts";
 * cuSeqlensIssues("--cu-seqlens", [0, 2, 1])[0].path; // "--cu-seqlens[2]"
 * ```
 */
export function cuSeqlensIssues(name: string, cu: readonly number[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  checkCu(name, cu, issues);
  return issues;
}

/**
 * Validate and normalize a layout request. Throws a `ConfigError` listing every
 * problem (field path, value, what would be valid).
 *
 * @example
 * ```ts
 * import { normalizeLayout } from "./layout.ts";
 * const l = normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 5], causal: true });
 * l.qPositions; // [0, 1, 2, 0, 1]
 * ```
 */
export function normalizeLayout(
  req: LayoutRequest,
  options: NormalizeLayoutOptions = {},
): NormalizedLayout {
  const source = options.source ?? "layout";
  const issues: ConfigIssue[] = [];
  if (req.kind === "bshd" || req.kind === "sbhd") {
    const { batch, seqQ, seqK, kvLens } = req;
    if (!isInt(batch) || batch < 1) {
      issues.push({ path: "batch", value: batch, message: "must be an integer >= 1" });
    }
    if (!isInt(seqQ) || seqQ < 1) {
      issues.push({ path: "seqQ", value: seqQ, message: "must be an integer >= 1" });
    }
    if (!isInt(seqK) || seqK < 0) {
      issues.push({ path: "seqK", value: seqK, message: "must be an integer >= 0" });
    }
    if (kvLens !== undefined) {
      if (!Array.isArray(kvLens) || kvLens.length !== batch) {
        issues.push({
          path: "kvLens",
          value: kvLens,
          message: `must list one key length per sequence (${batch})`,
        });
      } else {
        kvLens.forEach((v, i) => {
          if (!isInt(v) || v < 0 || v > seqK) {
            issues.push({
              path: `kvLens[${i}]`,
              value: v,
              message: `must be an integer in [0, seqK=${seqK}]`,
            });
          }
        });
      }
    }
    if (issues.length) throw new ConfigError(source, issues, "invalid layout");
    const bm = req.kind === "bshd";
    const kLens = Array.from({ length: batch }, (_, b) => (kvLens ? kvLens[b] : seqK));
    const paged = req.paging ? pagedRows(req.paging, kLens, issues) : null;
    if (issues.length) throw new ConfigError(source, issues, "invalid layout");
    const spans = Array.from({ length: batch }, (_, b) => ({
      qLen: seqQ,
      kLen: kLens[b],
      qRow: (i: number) => bm ? b * seqQ + i : i * batch + b,
      kRow: paged ? paged[b] : (j: number) => bm ? b * seqK + j : j * batch + b,
      kRowIncreasing: paged === null,
    }));
    return req.paging
      ? build(
        req.kind,
        req.causal,
        spans,
        batch * seqQ,
        req.paging.numPages * req.paging.pageSize,
        req.paging.pageSize,
      )
      : build(req.kind, req.causal, spans, batch * seqQ, batch * seqK);
  }
  if (req.kind !== "thd") {
    throw new ConfigError(source, [{
      path: "kind",
      value: (req as { kind: unknown }).kind,
      message: 'must be "bshd", "sbhd" or "thd"',
    }], "invalid layout");
  }
  const cuQ = req.cuSeqlensQ;
  const okQ = checkCu("cuSeqlensQ", cuQ, issues);
  const n = okQ ? cuQ.length : 0;
  const okK = checkCu("cuSeqlensK", req.cuSeqlensK, issues, okQ ? n : undefined);
  const okQp = checkCu("cuSeqlensQPadded", req.cuSeqlensQPadded, issues, okQ ? n : undefined);
  const okKp = checkCu("cuSeqlensKPadded", req.cuSeqlensKPadded, issues, okQ ? n : undefined);
  if (!(okQ && okK && okQp && okKp)) throw new ConfigError(source, issues, "invalid layout");
  const cuK = req.cuSeqlensK ?? cuQ;
  const padQ = req.cuSeqlensQPadded ?? cuQ;
  const padK = req.cuSeqlensKPadded ?? req.cuSeqlensK ?? padQ;
  const padKName = req.cuSeqlensKPadded ? "cuSeqlensKPadded" : "cuSeqlensK";
  for (let i = 0; i + 1 < n; i++) {
    const lq = cuQ[i + 1] - cuQ[i];
    const lk = cuK[i + 1] - cuK[i];
    if (padQ[i + 1] - padQ[i] < lq) {
      issues.push({
        path: `cuSeqlensQPadded[${i + 1}]`,
        value: padQ[i + 1],
        message: `leaves ${padQ[i + 1] - padQ[i]} rows for sequence ${i} of ${lq} tokens`,
      });
    }
    if (padK[i + 1] - padK[i] < lk) {
      issues.push({
        path: `${padKName}[${i + 1}]`,
        value: padK[i + 1],
        message: `leaves ${padK[i + 1] - padK[i]} rows for sequence ${i} of ${lk} keys`,
      });
    }
  }
  const qRows = padQ[n - 1];
  const kRows = padK[n - 1];
  if (options.qRows !== undefined && qRows !== options.qRows) {
    issues.push({
      path: req.cuSeqlensQPadded ? `cuSeqlensQPadded[${n - 1}]` : `cuSeqlensQ[${n - 1}]`,
      value: qRows,
      message: `must equal the token count ${options.qRows} (the last offset ends the buffer)`,
    });
  }
  if (!req.paging && options.kRows !== undefined && kRows !== options.kRows) {
    issues.push({
      path: `${padKName}[${n - 1}]`,
      value: kRows,
      message: `must equal the key token count ${options.kRows}`,
    });
  }
  const kLens = Array.from({ length: n - 1 }, (_, b) => cuK[b + 1] - cuK[b]);
  const paged = req.paging ? pagedRows(req.paging, kLens, issues) : null;
  if (issues.length) throw new ConfigError(source, issues, "invalid layout");
  const spans = Array.from({ length: n - 1 }, (_, b) => ({
    qLen: cuQ[b + 1] - cuQ[b],
    kLen: kLens[b],
    qRow: (i: number) => padQ[b] + i,
    kRow: paged ? paged[b] : (j: number) => padK[b] + j,
    kRowIncreasing: paged === null,
  }));
  return req.paging
    ? build(
      "thd",
      req.causal,
      spans,
      qRows,
      req.paging.numPages * req.paging.pageSize,
      req.paging.pageSize,
    )
    : build("thd", req.causal, spans, qRows, kRows);
}

/**
 * Whether logical query token `q` may attend to logical key token `k` under the
 * layout: same sequence, and (when causal) bottom-right aligned.
 *
 * @example
 * ```ts
 * import { normalizeLayout, visible } from "./layout.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 1, seqK: 4, causal: true });
 * visible(l, 0, 3); // true: the decode query sits after every cached key
 * ```
 */
export function visible(layout: NormalizedLayout, q: number, k: number): boolean {
  const sid = layout.qSeqId[q];
  if (layout.kSeqId[k] !== sid) return false;
  if (!layout.causal) return true;
  const s = layout.seqs[sid];
  return k - s.kStart <= q - s.qStart + s.causalOffset;
}

/**
 * How many keys query token `q` sees: the keys it sees are always the first ones of its
 * sequence (bottom-right causal alignment: min(kLen, max(0, i + causalOffset + 1)) for the
 * sequence's i-th query; without causality every key), the same set {@link visible}
 * admits. Kernels get this count per query (kernels/tables.ts `queryMeta`).
 *
 * @example
 * ```ts
 * import { normalizeLayout, visibleKeyCount } from "./layout.ts";
 * const l = normalizeLayout({ kind: "bshd", batch: 1, seqQ: 2, seqK: 4, causal: true });
 * visibleKeyCount(l, 0); // 3
 * ```
 */
export function visibleKeyCount(layout: NormalizedLayout, q: number): number {
  const s = layout.seqs[layout.qSeqId[q]];
  if (!layout.causal) return s.kLen;
  return Math.min(s.kLen, Math.max(0, q - s.qStart + s.causalOffset + 1));
}

/**
 * Whether the keys of a layout are its query tokens (self-attention, as in a
 * layer forward or a prefill): same rows, same lengths, no cache.
 *
 * @example
 * ```ts
 * import { isSelfAttention, normalizeLayout } from "./layout.ts";
 * isSelfAttention(normalizeLayout({ kind: "thd", cuSeqlensQ: [0, 3, 5], causal: true })); // true
 * ```
 */
export function isSelfAttention(layout: NormalizedLayout): boolean {
  return layout.kRows === layout.qRows &&
    layout.kRowOf.every((row, j) => row === layout.qRowOf[j]) &&
    layout.seqs.every((s) => s.qLen === s.kLen);
}

/**
 * The queries a packed (thd) case of `sq` queries and `sk` keys gives one sequence of
 * `kLen` keys: `sq` when sq < sk (queries against a cache: decode, MTP), else `kLen` (a
 * prefill packed as self-attention, each sequence's queries its own keys). The one rule
 * both the packing of a case (runner/case_request.ts `layoutOfCase`) and the matrix
 * check that refuses a thd case thd would not run as written (matrix/expand.ts
 * `thdMoreQueriesThanKeys`, via {@link thdRunsAsWritten}) read.
 *
 * @example
 * ```ts
 * import { thdQueriesOfSequence } from "./layout.ts";
 * thdQueriesOfSequence({ sq: 1, sk: 8 }, 5); // 1
 * thdQueriesOfSequence({ sq: 8, sk: 8 }, 5); // 5
 * ```
 */
export function thdQueriesOfSequence(shape: { sq: number; sk: number }, kLen: number): number {
  return shape.sq < shape.sk ? shape.sq : kLen;
}

/**
 * Whether a thd case packs the `sq` queries its shape names into a sequence of a full
 * `sk` keys ({@link thdQueriesOfSequence}); false when it would run another count (sq > sk
 * runs as sq = sk).
 *
 * @example
 * ```ts
 * import { thdRunsAsWritten } from "./layout.ts";
 * thdRunsAsWritten({ sq: 4, sk: 4 }); // true
 * thdRunsAsWritten({ sq: 6, sk: 2 }); // false
 * ```
 */
export function thdRunsAsWritten(shape: { sq: number; sk: number }): boolean {
  return thdQueriesOfSequence(shape, shape.sk) === shape.sq;
}
