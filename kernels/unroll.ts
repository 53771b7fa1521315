/**
 * Unrolling a kernel's constant-trip loops in its source: each `for` loop whose line ends in
 * `// @unroll` becomes one copy of its body per trip, in a block that binds the loop
 * variable to that trip's constant.
 *
 * Why in the source: wgpu's shader translation (naga, in Deno) bounds every loop it emits
 * with a 64-bit counter of its own so that no loop can run forever (wgpu 25 on, for
 * SPIR-V), and the extra exit hides a loop's trip count from the driver's compiler. A loop
 * the driver cannot unroll indexes its arrays with a runtime index, and an array indexed
 * that way (the tiled decode's accumulator rows, its q segment, its prefetched chunks)
 * leaves registers for local memory: a round trip to memory per access where the kernel
 * meant a register (gfx-rs/wgpu issue 7698 reports a pipeline going from 0.1 to 10 ms with
 * the bound). Unrolled here, there is no loop to bound and every index is a constant.
 *
 * The rules, each checked (an error names the line):
 * - the line is `for (var i = S; i < N; i++) {` (or `i += 1u`), optionally typed
 *   `var i: u32`, where S and N are u32 constant expressions of the file's module-scope
 *   `const`s (`+ - * / %`, parentheses, `min`, `max`) or literals (copies S .. N - 1);
 * - the body holds no `break` or `continue` (a copy has no loop to leave) and ends with a
 *   line that is only `}`;
 * - loops nest: an inner marked loop is unrolled first.
 *
 * Every line keeps its number: the unrolled copies are written on the `for` line and the
 * body's lines are left empty, so a compiler diagnostic still points into the loop (at its
 * first line). Comments inside the body are dropped.
 *
 * @module
 */

/** The marker that asks for a loop to be unrolled. */
export const UNROLL_MARKER = "// @unroll";

const FOR_LINE =
  /^(\s*)for \(var (\w+)(?:: ?u32)? = ([^;]+); (\w+) < ([^;]+); (\w+)(\+\+| \+= 1u)\) \{\s*(?:\/\/.*)?$/;

/**
 * The source with every `// @unroll` loop unrolled (see the module's rules). A source
 * without the marker comes back unchanged.
 *
 * @example
 * ```ts
 * import { unrollLoops } from "./unroll.ts";
 * unrollLoops("const N: u32 = 2u;\nfor (var i = 0u; i < N; i++) { // @unroll\n  s += a[i];\n}\n");
 * // "const N: u32 = 2u;\n{ let i: u32 = 0u; s += a[i]; } { let i: u32 = 1u; s += a[i]; }\n\n\n"
 * ```
 */
export function unrollLoops(source: string): string {
  if (!source.includes(UNROLL_MARKER)) return source;
  const lines = source.split("\n");
  const consts = constTable(lines);
  for (;;) {
    const marked = lines.flatMap((l, i) => isMarkedFor(l) ? [i] : []);
    if (marked.length === 0) return lines.join("\n");
    // The first marked loop that holds no other: innermost loops go first.
    let done = false;
    for (const start of marked) {
      const end = closingLine(lines, start);
      if (marked.some((m) => m > start && m < end)) continue;
      unrollAt(lines, start, end, consts);
      done = true;
      break;
    }
    if (!done) throw new Error("// @unroll: no innermost marked loop (unbalanced braces?)");
  }
}

/**
 * Whether a line is an active (not commented-out) `for` line with the marker among its
 * comments (`{ // @unroll // @nosg`: other markers may follow it).
 */
function isMarkedFor(line: string): boolean {
  return /^\s*for \(/.test(line) && /\/\/ @unroll\b/.test(line);
}

/** The code of a line without its `//` comment. */
function code(line: string): string {
  const at = line.indexOf("//");
  return at < 0 ? line : line.slice(0, at);
}

/** The line holding the `}` that closes the loop opened on line `start`. */
function closingLine(lines: readonly string[], start: number): number {
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    let closed = false;
    for (const ch of code(lines[i])) {
      if (ch === "{") depth++;
      else if (ch === "}") closed = --depth === 0;
      if (closed) break;
    }
    if (closed) {
      if (i === start || code(lines[i]).trim() !== "}") {
        throw new Error(
          `line ${start + 1}: // @unroll needs the loop's body on the lines after the for line ` +
            `and a closing line that is only "}" (line ${i + 1}: "${lines[i].trim()}")`,
        );
      }
      return i;
    }
  }
  throw new Error(`line ${start + 1}: the // @unroll loop is never closed`);
}

function unrollAt(
  lines: string[],
  start: number,
  end: number,
  consts: Map<string, string>,
): void {
  const m = FOR_LINE.exec(lines[start]);
  if (m === null || m[4] !== m[2] || m[6] !== m[2]) {
    throw new Error(
      `line ${start + 1}: // @unroll needs "for (var i = S; i < N; i++) {" with constant S ` +
        `and N (got "${lines[start].trim()}")`,
    );
  }
  const [, indent, name, from, , bound] = m;
  const first = evalConst(from.trim(), consts, `line ${start + 1}`);
  const stop = evalConst(bound.trim(), consts, `line ${start + 1}`);
  const body = lines.slice(start + 1, end).map((l) => code(l).trim()).filter((l) => l !== "")
    .join(" ");
  if (/\b(break|continue)\b/.test(body)) {
    throw new Error(
      `line ${start + 1}: a // @unroll loop's body may not break or continue (no loop is left ` +
        "to leave once it is unrolled)",
    );
  }
  const copies = Array.from(
    { length: Math.max(0, stop - first) },
    (_, k) => `{ let ${name}: u32 = ${first + k}u; ${body} }`,
  );
  lines[start] = indent + copies.join(" ");
  for (let i = start + 1; i <= end; i++) lines[i] = "";
}

/** The expressions of the source's module-scope `const` declarations, by name. */
function constTable(lines: readonly string[]): Map<string, string> {
  const table = new Map<string, string>();
  for (const line of lines) {
    const m = /^const (\w+)(?:\s*:\s*\w+)?\s*=\s*([^;]+);/.exec(code(line));
    if (m) table.set(m[1], m[2].trim());
  }
  return table;
}

/**
 * The value of a u32 constant expression: literals (`12u`, `12`), the named `const`s,
 * `+ - * / %` (integer division), parentheses, `min(a, b)` and `max(a, b)`.
 *
 * @example
 * ```ts
 * import { evalConst } from "./unroll.ts";
 * evalConst("(KC + S - 1u) / S", new Map([["KC", "144u"], ["S", "8u"]]), "here"); // 18
 * ```
 */
export function evalConst(
  expr: string,
  consts: ReadonlyMap<string, string>,
  where: string,
  seen: ReadonlySet<string> = new Set(),
): number {
  const tokens = expr.match(/\d+u?|\w+|[-+*/%(),]/g) ?? [];
  if (tokens.join("") !== expr.replace(/\s+/g, "")) {
    throw new Error(`${where}: "${expr}" is not a u32 constant expression the unroller reads`);
  }
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what} in the loop bound "${expr}"`);
  };
  const peek = () => tokens[pos];
  const take = (t?: string) => {
    const got = tokens[pos++];
    if (t !== undefined && got !== t) fail(`"${t}" expected, got "${got ?? "the end"}"`);
    return got;
  };
  const primary = (): number => {
    const t = take();
    if (t === undefined) return fail("an operand is missing");
    if (t === "(") {
      const v = sum();
      take(")");
      return v;
    }
    if (/^\d+u?$/.test(t)) return Number(t.replace(/u$/, ""));
    if (t === "min" || t === "max") {
      take("(");
      const a = sum();
      take(",");
      const b = sum();
      take(")");
      return t === "min" ? Math.min(a, b) : Math.max(a, b);
    }
    if (/^\w+$/.test(t)) {
      const def = consts.get(t);
      if (def === undefined) return fail(`"${t}" is not a const of the file`);
      if (seen.has(t)) return fail(`"${t}" is defined in terms of itself`);
      return evalConst(def, consts, where, new Set([...seen, t]));
    }
    return fail(`unexpected "${t}"`);
  };
  const product = (): number => {
    let v = primary();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = take();
      const r = primary();
      if (op !== "*" && r === 0) fail("a division by zero");
      v = op === "*" ? v * r : op === "/" ? Math.floor(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === "+" || peek() === "-") {
      const op = take();
      const r = product();
      v = op === "+" ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  if (pos !== tokens.length) fail(`unexpected "${tokens[pos]}"`);
  if (!Number.isSafeInteger(v) || v < 0) fail(`the value ${v} is not a u32`);
  return v;
}
