/**
 * The group-0 bindings a compute entry point uses: the `@group(0) @binding(n) var` declarations
 * whose names the entry point, or a function it calls, names. A pipeline made with
 * `layout: "auto"` has exactly these in its bind group layout, so a bind group of any other
 * bindings fails, and WebGPU's message ("Number of bindings ... does not match") names no pass
 * (kernels/launch.ts LaunchKit.dispatch checks against this list first).
 *
 * @module
 */
import { namesReached, type Token, tokenize } from "./wgsl_tokens.ts";

/**
 * What a binding's declaration takes: a buffer bound as `var<uniform>` or `var<storage>`
 * (`writable` for `read_write`), a texture (sampled or storage), a sampler, or "other" where
 * the declaration is not read that way.
 */
export type BindingKind = "uniform" | "storage" | "texture" | "sampler" | "other";

/** One binding of a bind group: its number and the variable declared at it. */
export interface EntryBinding {
  /** The `@binding(n)` number. */
  readonly binding: number;
  /** The variable's name. */
  readonly name: string;
  /** What it takes (see {@link BindingKind}). */
  readonly kind: BindingKind;
  /** Whether a storage buffer or storage texture is declared `read_write` (or `write`). */
  readonly writable: boolean;
  /** The declaration as written, e.g. `var<storage, read_write> o: array<f32>`. */
  readonly declaration: string;
}

/**
 * The kind of a `var` declared with `template` (the tokens between `<` and `>`, none for a
 * handle) and type `type` (its tokens up to the `;`).
 */
function kindOf(
  template: readonly string[],
  type: readonly string[],
): { kind: BindingKind; writable: boolean } {
  const space = template[0];
  if (space === "uniform") return { kind: "uniform", writable: false };
  if (space === "storage") return { kind: "storage", writable: template.includes("read_write") };
  const head = type[0] ?? "";
  if (head.startsWith("texture_storage_")) {
    return { kind: "texture", writable: type.includes("write") || type.includes("read_write") };
  }
  if (head.startsWith("texture_")) return { kind: "texture", writable: false };
  if (head === "sampler" || head === "sampler_comparison") {
    return { kind: "sampler", writable: false };
  }
  return { kind: "other", writable: false };
}

/** `@name(<integer>)` at `toks[i]`, as its number; else undefined. */
function attribute(toks: readonly Token[], i: number, name: string): number | undefined {
  if (toks[i]?.text !== "@" || toks[i + 1]?.text !== name || toks[i + 2]?.text !== "(") {
    return undefined;
  }
  const m = /^(\d+)[ui]?$/.exec(toks[i + 3]?.text ?? "");
  return m !== null && toks[i + 4]?.text === ")" ? Number(m[1]) : undefined;
}

/** A scalar type a buffer binding's elements can have. */
export type ScalarType = "f32" | "f16" | "u32" | "i32";

const SHORT_VECTORS: Readonly<Record<string, ScalarType>> = {
  f: "f32",
  h: "f16",
  u: "u32",
  i: "i32",
};

/**
 * The scalar type of the elements a buffer binding declares (`var<storage> c:
 * array<vec4<store_t>>` with `alias store_t = f16;` in `code`: "f16"), or null where it is not
 * one scalar through arrays, vectors, matrices and atomics (a struct, a texture).
 *
 * @example
 * ```ts
 * import { declaredScalar } from "./entry_bindings.ts";
 * const code = "alias store_t = f16;";
 * declaredScalar("var<storage, read> c: array<vec4<store_t>>", code); // "f16"
 * declaredScalar("var<uniform> p: Params", code); // null
 * ```
 */
export function declaredScalar(declaration: string, code: string): ScalarType | null {
  const colon = declaration.indexOf(":");
  if (colon < 0) return null;
  const aliases = new Map<string, string>();
  for (const m of code.replace(/\/\/[^\n]*/g, "").matchAll(/\balias\s+(\w+)\s*=\s*([^;]+);/g)) {
    aliases.set(m[1], m[2]);
  }
  let type = declaration.slice(colon + 1);
  for (let i = 0; i < 4; i++) {
    type = type.replace(/\b\w+\b/g, (w) => aliases.has(w) ? `(${aliases.get(w)})` : w);
  }
  const words = (type.match(/\b[A-Za-z_]\w*\b/g) ?? []).filter((w) =>
    !/^(array|atomic|vec[234]|mat[234]x[234])$/.test(w)
  ).map((w) => {
    const short = /^(?:vec[234]|mat[234]x[234])([fhui])$/.exec(w);
    return short ? SHORT_VECTORS[short[1]] : w;
  });
  const scalars = new Set(words);
  if (scalars.size !== 1) return null;
  const [only] = scalars;
  return only === "f32" || only === "f16" || only === "u32" || only === "i32" ? only : null;
}

/**
 * The fields of the struct a `var<uniform>` declaration names (`var<uniform> p: Params` with
 * `struct Params { n: u32, scale: f32 }` in `code`: [["n", "u32"], ["scale", "f32"]]), or null
 * where the type is not a struct of `code` whose fields are all u32, i32 or f32 without
 * attributes (their bytes then follow each other, 4 apiece, as a uniform writer's do).
 *
 * @example
 * ```ts
 * import { uniformScalarFields } from "./entry_bindings.ts";
 * uniformScalarFields("var<uniform> p: Params", "struct Params { n: u32, scale: f32 }");
 * // [["n", "u32"], ["scale", "f32"]]
 * ```
 */
export function uniformScalarFields(
  declaration: string,
  code: string,
): [string, "u32" | "i32" | "f32"][] | null {
  const type = /^var<uniform>\s*\w+\s*:\s*([A-Za-z_]\w*)$/.exec(declaration.trim())?.[1];
  if (type === undefined) return null;
  const plain = code.replace(/\/\/[^\n]*/g, "");
  const body = new RegExp(`\\bstruct\\s+${type}\\s*\\{([^}]*)\\}`).exec(plain)?.[1];
  if (body === undefined) return null;
  const fields: [string, "u32" | "i32" | "f32"][] = [];
  for (const part of body.split(",").map((f) => f.trim()).filter((f) => f !== "")) {
    const m = /^([A-Za-z_]\w*)\s*:\s*(u32|i32|f32)$/.exec(part);
    if (m === null) return null;
    fields.push([m[1], m[2] as "u32" | "i32" | "f32"]);
  }
  return fields.length === 0 ? null : fields;
}

/**
 * The group-0 bindings `entryPoint` uses, by binding number, or null where the source cannot
 * be read that way (it does not tokenize, has no such function, or a binding number is not
 * an integer literal).
 *
 * @example
 * ```ts
 * import { entryPointBindings } from "./entry_bindings.ts";
 * const code = "@group(0) @binding(0) var<storage, read> a: array<f32>;\n" +
 *   "@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n" +
 *   "@compute @workgroup_size(1) fn main() { o[0] = 1.0; }";
 * entryPointBindings(code, "main")?.map((b) => [b.binding, b.name, b.kind, b.writable]);
 * // [[1, "o", "storage", true]]
 * ```
 */
export function entryPointBindings(code: string, entryPoint: string): EntryBinding[] | null {
  let toks: Token[];
  try {
    toks = tokenize(code);
  } catch {
    return null;
  }
  const lineStarts = [0];
  for (let k = 0; k < code.length; k++) if (code[k] === "\n") lineStarts.push(k + 1);
  const offsetOf = (t: Token) => lineStarts[t.line - 1] + t.column - 1;
  const vars: EntryBinding[] = [];
  const functions = new Map<string, Token[]>();
  let level = 0;
  let group: number | undefined;
  let binding: number | undefined;
  let unreadable = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i].text;
    if (t === "{") level++;
    else if (t === "}") level--;
    if (level !== 0 || t === "}") continue;
    if (t === "@" && toks[i + 1]?.text === "group") {
      group = attribute(toks, i, "group");
      unreadable ||= group === undefined;
    } else if (t === "@" && toks[i + 1]?.text === "binding") {
      binding = attribute(toks, i, "binding");
      unreadable ||= binding === undefined;
    } else if (t === "var") {
      let j = i + 1;
      const template: string[] = [];
      if (toks[j]?.text === "<") {
        while (j < toks.length && toks[j].text !== ">") {
          if (toks[j].kind === "id") template.push(toks[j].text);
          j++;
        }
        j++;
      }
      if (group === 0 && binding !== undefined && toks[j]?.kind === "id") {
        let end = j + 1;
        while (end < toks.length && toks[end].text !== ";") end++;
        const type = toks.slice(j + 2, end).map((x) => x.text);
        const declaration = end < toks.length
          ? code.slice(offsetOf(toks[i]), offsetOf(toks[end])).replace(/\s+/g, " ").trim()
          : toks.slice(i, end).map((x) => x.text).join(" ");
        vars.push({ binding, name: toks[j].text, ...kindOf(template, type), declaration });
      }
      group = binding = undefined;
    } else if (t === "fn" && toks[i + 1]?.kind === "id") {
      let j = i;
      while (j < toks.length && toks[j].text !== "{") j++;
      let depth = 0;
      let end = j;
      for (; end < toks.length; end++) {
        if (toks[end].text === "{") depth++;
        if (toks[end].text === "}" && --depth === 0) break;
      }
      functions.set(toks[i + 1].text, toks.slice(j, end + 1));
      i = end;
      group = binding = undefined;
    } else if (t === ";") {
      group = binding = undefined;
    }
  }
  if (unreadable || !functions.has(entryPoint)) return null;
  const named = namesReached(functions, entryPoint);
  return vars.filter((v) => named.has(v.name)).sort((a, b) => a.binding - b.binding);
}
