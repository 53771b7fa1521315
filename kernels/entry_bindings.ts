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

/** One binding of a bind group: its number and the variable declared at it. */
export interface EntryBinding {
  /** The `@binding(n)` number. */
  readonly binding: number;
  /** The variable's name. */
  readonly name: string;
}

/** `@name(<integer>)` at `toks[i]`, as its number; else undefined. */
function attribute(toks: readonly Token[], i: number, name: string): number | undefined {
  if (toks[i]?.text !== "@" || toks[i + 1]?.text !== name || toks[i + 2]?.text !== "(") {
    return undefined;
  }
  const m = /^(\d+)[ui]?$/.exec(toks[i + 3]?.text ?? "");
  return m !== null && toks[i + 4]?.text === ")" ? Number(m[1]) : undefined;
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
 * entryPointBindings(code, "main"); // [{ binding: 1, name: "o" }]
 * ```
 */
export function entryPointBindings(code: string, entryPoint: string): EntryBinding[] | null {
  let toks: Token[];
  try {
    toks = tokenize(code);
  } catch {
    return null;
  }
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
      if (toks[j]?.text === "<") {
        while (j < toks.length && toks[j].text !== ">") j++;
        j++;
      }
      if (group === 0 && binding !== undefined && toks[j]?.kind === "id") {
        vars.push({ binding, name: toks[j].text });
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
