/**
 * Reading WGSL expressions as token lists, for the barrier check (kernels/workgroup_hazards.ts):
 * the value of a constant integer expression (is `i += WG` at least the workgroup size?), the
 * operands of a short-circuit `&&`/`||`, and a sum of products (`lid + t * WG`).
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
      v = apply(op, v, w);
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

function apply(op: string, a: number, b: number): number | null {
  switch (op) {
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return b === 0 ? null : Math.trunc(a / b);
    case "%":
      return b === 0 ? null : a % b;
    case "<<":
      return b < 0 || b > 31 ? null : a * 2 ** b;
    default:
      return b < 0 || b > 31 ? null : Math.floor(a / 2 ** b);
  }
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
