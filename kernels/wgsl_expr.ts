/**
 * Reading WGSL expressions as token lists, for the barrier check (kernels/workgroup_hazards.ts):
 * the value of a constant integer expression (is `i += WG` at least the workgroup size?), the
 * operands of a short-circuit `&&`/`||`, a sum of products (`lid + t * WG`), and an integer
 * expression's value in each invocation of a workgroup (do two invocations reach one slot?).
 *
 * @module
 */
import type { ModuleDecls, Token } from "./wgsl_tokens.ts";

const LEVELS: readonly (readonly string[])[] = [["<<", ">>"], ["+", "-"], ["*", "/", "%"]];

/**
 * The integer value of `toks` (a whole expression), or null when it is not a constant
 * integer expression this reads: integer literals, module-scope `const`s (by their
 * initializers), `+ - * / % << >>`, unary minus, parentheses and `u32(..)`/`i32(..)`; not an
 * `override`, a float or a builtin function.
 *
 * @example
 * ```ts
 * import { constInt } from "./wgsl_expr.ts";
 * import { parseModule, tokenize } from "./wgsl_tokens.ts";
 * const m = parseModule("const LC: u32 = 32u;\nconst WG: u32 = LC * 2u;");
 * constInt(tokenize("WG + 0x10"), m.consts); // 80
 * ```
 */
export function constInt(
  toks: readonly Token[],
  consts: ModuleDecls["consts"],
): number | null {
  return evaluate(toks, consts, new Set());
}

function evaluate(
  toks: readonly Token[],
  consts: ModuleDecls["consts"],
  seen: ReadonlySet<string>,
): number | null {
  let pos = 0;
  const binary = (level: number): number | null => {
    if (level === LEVELS.length) return unary();
    let v = binary(level + 1);
    while (v !== null && LEVELS[level].includes(toks[pos]?.text ?? "")) {
      const op = toks[pos++].text;
      const w = binary(level + 1);
      if (w === null) return null;
      // a constant expression is abstract: `lane`'s arithmetic of type "int"
      v = lane(op, "int", [v, w]);
    }
    return v;
  };
  const unary = (): number | null => {
    if (toks[pos]?.text === "-") {
      pos++;
      const v = unary();
      return v === null ? null : -v;
    }
    return primary();
  };
  const primary = (): number | null => {
    const t = toks[pos++];
    if (!t) return null;
    if (t.kind === "num") {
      const m = /^(0[xX][0-9a-fA-F]+|\d+)[iu]?$/.exec(t.text);
      return m ? Number(m[1]) : null;
    }
    if (t.text === "u32" || t.text === "i32") {
      if (toks[pos]?.text !== "(") return null;
      return primary();
    }
    if (t.text === "(") {
      const v = binary(0);
      return toks[pos++]?.text === ")" ? v : null;
    }
    const init = t.kind === "id" && !seen.has(t.text) ? consts.get(t.text) : undefined;
    return init ? evaluate(init, consts, new Set([...seen, t.text])) : null;
  };
  const v = binary(0);
  return pos === toks.length && v !== null && Number.isSafeInteger(v) ? v : null;
}

/**
 * The index of the bracket closing `toks[open]` (`(` or `[`), or -1.
 *
 * @example
 * ```ts
 * import { closingBracket } from "./wgsl_expr.ts";
 * import { tokenize } from "./wgsl_tokens.ts";
 * closingBracket(tokenize("(a[i]) + b"), 0); // 5
 * ```
 */
export function closingBracket(toks: readonly Token[], open: number): number {
  let depth = 0;
  for (let k = open; k < toks.length; k++) {
    const t = toks[k].text;
    if (t === "(" || t === "[") depth++;
    else if ((t === ")" || t === "]") && --depth === 0) return k;
  }
  return -1;
}

/**
 * The operands of the `&&` or `||` at `toks[op]`, inside the expression `toks[from..to)`: the
 * left one from `start` to `op`, the right one from `op + 1` to `end` (it stops at the next
 * `&&`/`||`, a comma or a closing bracket).
 *
 * @example
 * ```ts
 * import { shortCircuitOperands } from "./wgsl_expr.ts";
 * import { tokenize } from "./wgsl_tokens.ts";
 * const t = tokenize("f(a, b == 1u && g(c), d)");
 * shortCircuitOperands(t, 7, 0, t.length); // { start: 4, end: 12 }
 * ```
 */
export function shortCircuitOperands(
  toks: readonly Token[],
  op: number,
  from: number,
  to: number,
): { start: number; end: number } {
  let start = from;
  let depth = 0;
  for (let k = op - 1; k >= from; k--) {
    const x = toks[k].text;
    if (x === ")" || x === "]") depth++;
    else if ((x === "(" || x === "[") && depth-- === 0) {
      start = k + 1;
      break;
    } else if (depth === 0 && x === ",") {
      start = k + 1;
      break;
    }
  }
  let end = to;
  depth = 0;
  for (let k = op + 1; k < to; k++) {
    const x = toks[k].text;
    if (x === "(" || x === "[") depth++;
    else if ((x === ")" || x === "]") && depth-- === 0) {
      end = k;
      break;
    } else if (depth === 0 && (x === "," || x === "&&" || x === "||")) {
      end = k;
      break;
    }
  }
  return { start, end };
}

/**
 * `toks[from..to)` as a sum of products, its terms split at `+` and their factors at `*`
 * outside brackets (enclosing parentheses dropped), or null when another operator is outside
 * them (`-`, `%`, `<<`, a comparison).
 *
 * @example
 * ```ts
 * import { sumOfProducts } from "./wgsl_expr.ts";
 * import { tokenize } from "./wgsl_tokens.ts";
 * const t = tokenize("lid.x + (t + 1u) * WG");
 * sumOfProducts(t, 0, t.length)?.map((term) => term.length); // [1, 2]
 * ```
 */
export function sumOfProducts(
  toks: readonly Token[],
  from: number,
  to: number,
): Token[][][] | null {
  while (toks[from]?.text === "(" && closingBracket(toks, from) === to - 1) {
    from++;
    to--;
  }
  const terms: Token[][][] = [[[]]];
  let depth = 0;
  for (let k = from; k < to; k++) {
    const t = toks[k];
    if (t.text === "(" || t.text === "[") depth++;
    else if (t.text === ")" || t.text === "]") depth--;
    const term = terms[terms.length - 1];
    if (depth > 0 || t.kind !== "op" || t.text === "." || t.text === ")" || t.text === "]") {
      term[term.length - 1].push(t);
    } else if (t.text === "+") terms.push([[]]);
    else if (t.text === "*") term.push([]);
    else return null;
  }
  return terms;
}

/**
 * An integer (or boolean) expression's value in each invocation of a workgroup: its WGSL type
 * (`int` for an abstract integer: a bare literal, or a `const` of them) and one value per
 * invocation, or a single value every invocation shares.
 */
export interface Lanes {
  /** `u32`, `i32`, `int` (abstract) or `bool` (0 or 1). */
  readonly type: "u32" | "i32" | "int" | "bool";
  /** One value per invocation, or one value for all of them. */
  readonly values: readonly number[];
}

/**
 * What a name at `toks[k]` is, for {@link laneValues}: its value in each invocation (null when
 * it has none this can compute: a `var`, a storage read) and the index past the tokens it
 * took (`lv . x` takes three), or undefined when it is no local name (then a module `const`
 * is looked up).
 */
export type LaneNames = (
  toks: readonly Token[],
  k: number,
) => { value: Lanes | null; next: number } | undefined;

// Binary operators by precedence, lowest first (WGSL forbids mixing the bitwise ones with
// others unparenthesized, so one order serves every valid expression).
const LANE_LEVELS: readonly (readonly string[])[] = [
  ["||"],
  ["&&"],
  ["|"],
  ["^"],
  ["&"],
  ["==", "!="],
  ["<", ">", "<=", ">="],
  ["<<", ">>"],
  ["+", "-"],
  ["*", "/", "%"],
];

/**
 * The value of `toks[from..to)` in each of `lanes` invocations, with WGSL's u32/i32 semantics
 * (wrapping `+ - *`, truncating `/`, `%` of the dividend's sign, `<< >>`, `& | ^ ~`,
 * comparisons, `! && ||`, `u32()`/`i32()`, `min`, `max`, `clamp`, `select`), or null when it
 * is not such an expression of integer literals, module `const`s and the names `names`
 * resolves: an `override`, a float, another function, an index or a field, a division by
 * zero, a shift of 32 or more, or an abstract value beyond 2^53 all give null.
 *
 * @example
 * ```ts
 * import { laneValues } from "./wgsl_expr.ts";
 * import { parseModule, tokenize } from "./wgsl_tokens.ts";
 * const m = parseModule("const ROWS: u32 = 4u;");
 * const lid = { type: "u32" as const, values: [0, 1, 2, 3, 4, 5, 6, 7] };
 * const t = tokenize("lid / ROWS + (lid % ROWS) * 2u");
 * const names = (toks: readonly typeof t[number][], k: number) =>
 *   toks[k].text === "lid" ? { value: lid, next: k + 1 } : undefined;
 * laneValues(t, 0, t.length, 8, m.consts, names)?.values; // [0, 2, 4, 6, 1, 3, 5, 7]
 * ```
 */
export function laneValues(
  toks: readonly Token[],
  from: number,
  to: number,
  lanes: number,
  consts: ModuleDecls["consts"],
  names: LaneNames,
): Lanes | null {
  return lanesOf(toks, from, to, lanes, consts, names, new Set());
}

function lanesOf(
  toks: readonly Token[],
  from: number,
  to: number,
  lanes: number,
  consts: ModuleDecls["consts"],
  names: LaneNames,
  seen: ReadonlySet<string>,
): Lanes | null {
  let pos = from;
  const binary = (level: number): Lanes | null => {
    if (level === LANE_LEVELS.length) return unary();
    let v = binary(level + 1);
    while (v !== null && pos < to && LANE_LEVELS[level].includes(toks[pos].text)) {
      const op = toks[pos++].text;
      const w = binary(level + 1);
      v = w === null ? null : combine(op, [v, w]);
    }
    return v;
  };
  const unary = (): Lanes | null => {
    const op = toks[pos]?.text;
    if (pos < to && (op === "-" || op === "!" || op === "~")) {
      pos++;
      const v = unary();
      return v === null ? null : combine(`unary${op}`, [v]);
    }
    return primary();
  };
  // the arguments of a call whose "(" is at pos
  const args = (): Lanes[] | null => {
    if (toks[pos]?.text !== "(") return null;
    const end = closingBracket(toks, pos);
    if (end < 0 || end >= to) return null;
    const out: Lanes[] = [];
    let start = pos + 1;
    let depth = 0;
    for (let k = pos + 1; k <= end; k++) {
      const x = toks[k].text;
      if (k < end && (x === "(" || x === "[")) depth++;
      else if (k < end && (x === ")" || x === "]")) depth--;
      else if (k === end || (depth === 0 && x === ",")) {
        if (k === start && !(k === end && out.length > 0)) return null;
        if (k === start) break; // a trailing comma
        const v = lanesOf(toks, start, k, lanes, consts, names, seen);
        if (v === null) return null;
        out.push(v);
        start = k + 1;
      }
    }
    pos = end + 1;
    return out;
  };
  const primary = (): Lanes | null => {
    if (pos >= to) return null;
    const t = toks[pos++];
    if (t.kind === "num") {
      const m = /^(0[xX][0-9a-fA-F]+|\d+)([iu]?)$/.exec(t.text);
      if (!m) return null;
      const type = m[2] === "u" ? "u32" : m[2] === "i" ? "i32" : "int";
      const v = Number(m[1]);
      // (a literal out of its type's range is no WGSL)
      if (type !== "int" && v > (type === "u32" ? 0xffffffff : 2 ** 31 - 1)) return null;
      return wrap(type, [v]);
    }
    if (t.text === "true" || t.text === "false") {
      return { type: "bool", values: [t.text === "true" ? 1 : 0] };
    }
    if (t.text === "(") {
      const v = binary(0);
      return toks[pos++]?.text === ")" && pos <= to ? v : null;
    }
    if (t.kind !== "id") return null;
    const local = names(toks, pos - 1);
    if (local) {
      if (local.next > to) return null;
      pos = local.next;
      return local.value;
    }
    const builtin = ["u32", "i32", "min", "max", "clamp", "select"].includes(t.text);
    if (builtin) {
      const a = args();
      if (!a) return null;
      return combine(t.text, a);
    }
    const init = !seen.has(t.text) ? consts.get(t.text) : undefined;
    if (!init || toks[pos]?.text === "(") return null;
    return lanesOf(
      init,
      0,
      init.length,
      lanes,
      consts,
      () => undefined,
      new Set([...seen, t.text]),
    );
  };
  const v = binary(0);
  if (v === null || pos !== to) return null;
  // (a per-invocation value of the wrong width never comes from these names)
  return v.values.length === 1 || v.values.length === lanes ? v : null;
}

/** Values normalized to their type (u32 and i32 wrap), or null when an abstract one is unsafe. */
function wrap(type: Lanes["type"], values: number[]): Lanes | null {
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (type === "u32") values[i] = x >>> 0;
    else if (type === "i32") values[i] = x | 0;
    else if (!Number.isSafeInteger(x)) return null;
  }
  return { type, values };
}

const COMPARE = new Set(["==", "!=", "<", ">", "<=", ">="]);

const ARITY: Readonly<Record<string, number>> = {
  "unary-": 1,
  "unary!": 1,
  "unary~": 1,
  u32: 1,
  i32: 1,
  clamp: 3,
  select: 3,
};

/** Two operands' common type (an abstract integer takes the concrete one's), or null. */
function common(a: Lanes, b: Lanes): Lanes["type"] | null {
  if (a.type === b.type) return a.type;
  if (a.type === "int" && b.type !== "bool") return b.type;
  if (b.type === "int" && a.type !== "bool") return a.type;
  return null;
}

/**
 * Apply an operator (binary, `unary-`/`unary!`/`unary~`, or a builtin's name) lane by lane,
 * or null where WGSL would not type it or this gives no value.
 */
function combine(op: string, operands: Lanes[]): Lanes | null {
  if (operands.length !== (ARITY[op] ?? 2)) return null;
  const [a, b, c] = operands;
  let type: Lanes["type"] | null;
  if (op === "u32" || op === "i32") {
    const range = op === "u32" ? [0, 0xffffffff] : [-(2 ** 31), 2 ** 31 - 1];
    if (a.type === "int" && a.values.some((x) => x < range[0] || x > range[1])) return null;
    return wrap(op, [...a.values]);
  }
  if (op === "&&" || op === "||" || op === "unary!") {
    type = operands.every((v) => v.type === "bool") ? "bool" : null;
  } else if (op === "select") {
    type = c.type === "bool" ? common(a, b) : null;
  } else if (op === "==" || op === "!=") {
    type = common(a, b);
  } else if (op === "<<" || op === ">>") {
    // the shift amount is a u32; an abstract left operand of a u32 amount is an i32
    const amount = b.type === "u32" || b.type === "int";
    type = !amount || a.type === "bool"
      ? null
      : a.type === "int" && b.type === "u32"
      ? "i32"
      : a.type;
  } else {
    type = a.type === "bool" ? null : operands.slice(1).reduce<Lanes["type"] | null>(
      (t, v) => t === null ? null : common({ type: t, values: [] }, v),
      a.type,
    );
    if (type === "bool") type = null;
  }
  if (type === null) return null;
  const n = Math.max(...operands.map((v) => v.values.length));
  const at = (v: Lanes, i: number) => v.values.length === 1 ? v.values[0] : v.values[i];
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const r = lane(op, type, operands.map((v) => at(v, i)));
    if (r === null) return null;
    out[i] = r;
  }
  return COMPARE.has(op) || op === "&&" || op === "||" || op === "unary!"
    ? { type: "bool", values: out }
    : wrap(type, out);
}

/** One lane of {@link combine}: the operands' values, of the operator's common type. */
function lane(op: string, type: Lanes["type"], x: number[]): number | null {
  const [a, b, c] = x;
  // (an abstract operand of a bitwise operator: only where JavaScript's 32 bits hold it)
  const bits = (v: number) => type === "int" && (v < -(2 ** 31) || v >= 2 ** 31) ? null : v;
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return type === "int" ? a * b : Math.imul(a, b);
    case "/":
      if (b === 0) return null;
      return type === "i32" && a === -(2 ** 31) && b === -1 ? a : Math.trunc(a / b);
    case "%":
      return b === 0 ? null : a % b;
    case "<<":
      if (b < 0 || b > 31) return null;
      return type === "int" ? a * 2 ** b : a << b;
    case ">>":
      if (b < 0 || b > 31) return null;
      return type === "u32" ? a >>> b : type === "i32" ? a >> b : Math.floor(a / 2 ** b);
    case "&":
    case "|":
    case "^": {
      if (bits(a) === null || bits(b) === null) return null;
      const r = op === "&" ? a & b : op === "|" ? a | b : a ^ b;
      return type === "u32" ? r >>> 0 : r;
    }
    case "unary~":
      return bits(a) === null ? null : type === "u32" ? ~a >>> 0 : ~a;
    case "unary-":
      return -a;
    case "unary!":
      return a ? 0 : 1;
    case "&&":
      return a && b ? 1 : 0;
    case "||":
      return a || b ? 1 : 0;
    case "==":
      return a === b ? 1 : 0;
    case "!=":
      return a !== b ? 1 : 0;
    case "<":
      return a < b ? 1 : 0;
    case ">":
      return a > b ? 1 : 0;
    case "<=":
      return a <= b ? 1 : 0;
    case ">=":
      return a >= b ? 1 : 0;
    case "min":
      return Math.min(a, b);
    case "max":
      return Math.max(a, b);
    case "clamp":
      return Math.min(Math.max(a, b), c);
    case "select":
      return c ? b : a;
    default:
      return null;
  }
}
