/**
 * The workgroup memory an entry point of a WGSL module declares, as WebGPU counts it against
 * `maxComputeWorkgroupStorageSize`: each `var<workgroup>` the entry point uses (directly or
 * through the functions it calls), `roundUp(16, SizeOf(T))` bytes each. Deno's wgpu does not
 * check that limit when it creates a pipeline: on lavapipe a kernel that declares 400 000
 * bytes where the device allows 32 768 compiles and runs, while a GPU's driver (and
 * Chromium's Dawn) refuse the pipeline. `kit.compile` refuses such a kernel by this count
 * (kernels/launch.ts).
 *
 * Only what it can size from the source: scalars, vectors, matrices, atomics, fixed-size
 * arrays (an element count that is a literal, a module `const`, or `+ - * /`, `min` and
 * `max` of them) and
 * structs of those without `@size`/`@align`. Anything else (an `override` count, a type it
 * does not know) makes the count unknown (null): no refusal on a guess.
 *
 * @module
 */
import { namesReached, type Token, tokenize } from "./wgsl_tokens.ts";

/** A type's size and alignment in bytes (WGSL's memory layout rules). */
interface Layout {
  readonly size: number;
  readonly align: number;
}

/** The workgroup memory of one entry point. */
export interface WorkgroupStorage {
  /** The sum of `roundUp(16, size)` over the variables it uses. */
  readonly bytes: number;
  /** Each variable it uses, with its size (before rounding), in source order. */
  readonly vars: readonly { readonly name: string; readonly bytes: number }[];
}

const SCALARS: Record<string, number> = { f32: 4, i32: 4, u32: 4, bool: 4, f16: 2 };
const SHORT_SCALAR: Record<string, string> = { f: "f32", i: "i32", u: "u32", h: "f16" };

const roundUp = (k: number, n: number) => Math.ceil(n / k) * k;

function vectorLayout(n: number, scalar: number): Layout {
  return { size: n * scalar, align: (n === 3 ? 4 : n) * scalar };
}

function matrixLayout(cols: number, rows: number, scalar: number): Layout {
  const col = vectorLayout(rows, scalar);
  return { size: cols * roundUp(col.align, col.size), align: col.align };
}

/** Split `>>` into two `>` (nested generics: `array<vec4<f32>>`). */
function splitShifts(toks: Token[]): Token[] {
  return toks.flatMap((t) =>
    t.text === ">>"
      ? [{ ...t, text: ">" }, { ...t, text: ">", column: t.column + 1 }]
      : t.text === ">>="
      ? [{ ...t, text: ">" }, { ...t, text: ">=", column: t.column + 1 }]
      : [t]
  );
}

/** A module's declarations a type's size depends on, by name. */
interface Decls {
  readonly consts: Map<string, Token[]>;
  readonly structs: Map<string, Token[]>;
  readonly aliases: Map<string, Token[]>;
}

class Sizer {
  pos = 0;
  constructor(readonly toks: Token[], readonly decls: Decls) {}

  /** The layout of the type at `toks`, or null where it cannot be sized. */
  static of(toks: Token[], decls: Decls, depth = 0): Layout | null {
    if (depth > 32) return null;
    const p = new Sizer(toks, decls);
    const t = p.type(depth);
    return p.pos === toks.length ? t : null;
  }

  type(depth: number): Layout | null {
    const name = this.toks[this.pos++]?.text;
    if (name === undefined) return null;
    const args: Token[][] = [];
    if (this.toks[this.pos]?.text === "<") {
      this.pos++;
      let depthHere = 0;
      let cur: Token[] = [];
      for (;;) {
        const t = this.toks[this.pos++];
        if (t === undefined) return null;
        if (depthHere === 0 && (t.text === ">" || t.text === ",")) {
          if (cur.length) args.push(cur);
          cur = [];
          if (t.text === ">") break;
          continue;
        }
        if (t.text === "<" || t.text === "(") depthHere++;
        if (t.text === ">" || t.text === ")") depthHere--;
        cur.push(t);
      }
    }
    if (name in SCALARS && args.length === 0) return { size: SCALARS[name], align: SCALARS[name] };
    if (name === "atomic" && args.length === 1) return { size: 4, align: 4 };
    const sub = (toks: Token[]) => Sizer.of(toks, this.decls, depth + 1);
    let m = /^vec([234])([fihu]?)$/.exec(name);
    if (m) {
      const scalar = m[2] !== ""
        ? SCALARS[SHORT_SCALAR[m[2]]]
        : args.length === 1
        ? sub(args[0])?.size
        : undefined;
      return scalar === undefined ? null : vectorLayout(Number(m[1]), scalar);
    }
    m = /^mat([234])x([234])([fh]?)$/.exec(name);
    if (m) {
      const scalar = m[3] !== ""
        ? SCALARS[SHORT_SCALAR[m[3]]]
        : args.length === 1
        ? sub(args[0])?.size
        : undefined;
      return scalar === undefined ? null : matrixLayout(Number(m[1]), Number(m[2]), scalar);
    }
    if (name === "array") {
      if (args.length !== 2) return null; // a runtime-sized array is not workgroup memory
      const element = sub(args[0]);
      const count = this.count(args[1], 0);
      if (element === null || count === null) return null;
      return { size: count * roundUp(element.align, element.size), align: element.align };
    }
    if (args.length > 0) return null;
    const alias = this.decls.aliases.get(name);
    if (alias !== undefined) return sub(alias);
    const members = this.decls.structs.get(name);
    if (members !== undefined) return this.struct(members, depth);
    return null;
  }

  /** A struct's layout from its member tokens (`a: T, b: U,`); null with @size/@align. */
  struct(members: Token[], depth: number): Layout | null {
    if (members.some((t) => t.text === "@")) return null;
    let offset = 0;
    let align = 1;
    let i = 0;
    while (i < members.length) {
      if (members[i + 1]?.text !== ":") return null;
      let j = i + 2;
      let level = 0;
      while (j < members.length && !(level === 0 && members[j].text === ",")) {
        if (members[j].text === "<" || members[j].text === "(") level++;
        if (members[j].text === ">" || members[j].text === ")") level--;
        j++;
      }
      const t = Sizer.of(members.slice(i + 2, j), this.decls, depth + 1);
      if (t === null) return null;
      offset = roundUp(t.align, offset) + t.size;
      align = Math.max(align, t.align);
      i = j + 1;
    }
    return { size: roundUp(align, offset), align };
  }

  /** An element count: integer literals and module consts with + - * / ( ). */
  count(toks: Token[], depth: number): number | null {
    if (depth > 32) return null;
    let i = 0;
    const primary = (): number | null => {
      const t = toks[i++];
      if (t === undefined) return null;
      if (t.text === "(") {
        const v = sum();
        return toks[i++]?.text === ")" ? v : null;
      }
      if ((t.text === "min" || t.text === "max") && toks[i]?.text === "(") {
        i++;
        const a = sum();
        if (toks[i++]?.text !== ",") return null;
        const b = sum();
        if (a === null || b === null || toks[i++]?.text !== ")") return null;
        return t.text === "min" ? Math.min(a, b) : Math.max(a, b);
      }
      if (t.kind === "num") {
        const n = Number(t.text.replace(/[iu]$/, ""));
        return Number.isSafeInteger(n) ? n : null;
      }
      const init = this.decls.consts.get(t.text);
      return init === undefined ? null : this.count(init, depth + 1);
    };
    const product = (): number | null => {
      let v = primary();
      while (v !== null && (toks[i]?.text === "*" || toks[i]?.text === "/")) {
        const op = toks[i++].text;
        const w = primary();
        if (w === null || (op === "/" && w === 0)) return null;
        v = op === "*" ? v * w : Math.trunc(v / w);
      }
      return v;
    };
    const sum = (): number | null => {
      let v = product();
      while (v !== null && (toks[i]?.text === "+" || toks[i]?.text === "-")) {
        const op = toks[i++].text;
        const w = product();
        if (w === null) return null;
        v = op === "+" ? v + w : v - w;
      }
      return v;
    };
    const v = sum();
    return v !== null && i === toks.length && v > 0 ? v : null;
  }
}

/**
 * The workgroup memory `entryPoint` of `code` uses, or null when the source cannot be sized
 * (see the module's comment) or has no such function.
 *
 * @example
 * ```ts
 * import { workgroupStorageBytes } from "./workgroup_storage.ts";
 * const code = "const N: u32 = 64u;\nvar<workgroup> s: array<vec4<f32>, N>;\n" +
 *   "var<workgroup> m: f32;\n@compute @workgroup_size(64) fn main() { s[0].x = m; }";
 * workgroupStorageBytes(code, "main")?.bytes; // 1040: 64 x 16 bytes, and m rounded up to 16
 * ```
 */
export function workgroupStorageBytes(code: string, entryPoint: string): WorkgroupStorage | null {
  let toks: Token[];
  try {
    toks = splitShifts(tokenize(code));
  } catch {
    return null;
  }
  const consts = new Map<string, Token[]>();
  const structs = new Map<string, Token[]>();
  const aliases = new Map<string, Token[]>();
  const vars: { name: string; type: Token[] }[] = [];
  const functions = new Map<string, Token[]>();
  // module scope only: a `{` opens a body that is skipped (a function's, a struct's)
  const close = (i: number): number => {
    let level = 0;
    for (let j = i; j < toks.length; j++) {
      if (toks[j].text === "{") level++;
      if (toks[j].text === "}" && --level === 0) return j;
    }
    return toks.length;
  };
  const semicolon = (i: number): number => {
    let j = i;
    while (j < toks.length && toks[j].text !== ";") j++;
    return j;
  };
  for (let i = 0; i < toks.length;) {
    const t = toks[i].text;
    if (t === "struct" && toks[i + 2]?.text === "{") {
      const end = close(i + 2);
      structs.set(toks[i + 1].text, toks.slice(i + 3, end));
      i = end + 1;
    } else if (t === "fn") {
      let j = i;
      while (j < toks.length && toks[j].text !== "{") j++;
      const end = close(j);
      functions.set(toks[i + 1]?.text ?? "", toks.slice(j, end + 1));
      i = end + 1;
    } else if (t === "const" || t === "alias") {
      const end = semicolon(i);
      const eq = toks.slice(i, end).findIndex((x) => x.text === "=");
      if (eq > 0) {
        (t === "const" ? consts : aliases).set(toks[i + 1].text, toks.slice(i + eq + 1, end));
      }
      i = end + 1;
    } else if (
      t === "var" && toks[i + 1]?.text === "<" && toks[i + 2]?.text === "workgroup" &&
      toks[i + 3]?.text === ">" && toks[i + 5]?.text === ":"
    ) {
      const end = semicolon(i);
      vars.push({ name: toks[i + 4].text, type: toks.slice(i + 6, end) });
      i = end + 1;
    } else if (t === "{") {
      i = close(i) + 1;
    } else {
      i++;
    }
  }
  if (!functions.has(entryPoint)) return null;
  // the functions the entry point reaches, and the workgroup variables they name
  const named = namesReached(functions, entryPoint);
  const decls = { consts, structs, aliases };
  const used: { name: string; bytes: number }[] = [];
  for (const v of vars) {
    if (!named.has(v.name)) continue;
    const layout = Sizer.of(v.type, decls);
    if (layout === null) return null;
    used.push({ name: v.name, bytes: layout.size });
  }
  return { bytes: used.reduce((s, v) => s + roundUp(16, v.bytes), 0), vars: used };
}

/**
 * What is wrong with `entryPoint`'s workgroup memory against a device's
 * `maxComputeWorkgroupStorageSize`, or null when it fits or cannot be sized: Deno's wgpu
 * creates such a pipeline without a word and lavapipe runs it, while a GPU's driver refuses it.
 * `o.whose` names the limit in the text (default "this device's maxComputeWorkgroupStorageSize
 * N"; a launch kit under a device profile names the profile's figure and the device's own).
 *
 * @example
 * ```ts
 * import { workgroupStorageOver } from "./workgroup_storage.ts";
 * const code = "var<workgroup> s: array<f32, 16384>;\n@compute @workgroup_size(64)\n" +
 *   "fn main() { s[0] = 1.0; }";
 * workgroupStorageOver(code, "main", 32768)?.startsWith("entry point main declares 65536 bytes"); // true
 * workgroupStorageOver(code, "main", 65536); // null
 * ```
 */
export function workgroupStorageOver(
  code: string,
  entryPoint: string,
  limit: number,
  o: { whose?: string } = {},
): string | null {
  const use = workgroupStorageBytes(code, entryPoint);
  if (use === null || use.bytes <= limit) return null;
  const vars = use.vars.map((v) => `${v.name} ${v.bytes}`).join(", ");
  const whose = o.whose ?? `this device's maxComputeWorkgroupStorageSize ${limit}`;
  return `entry point ${entryPoint} declares ${use.bytes} bytes of workgroup memory (${vars}; ` +
    `each rounded up to 16), over ${whose}: a GPU ` +
    "refuses such a pipeline (Deno's wgpu does not check it, and lavapipe runs it)";
}
