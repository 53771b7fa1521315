/**
 * A WGSL tokenizer and a statement parser for the subset the harness's checks read
 * (kernels/workgroup_hazards.ts): module-scope declarations, functions, and the statements of
 * their bodies (blocks, `if`/`else`, `for`, `while`, `loop`/`continuing`/`break if`,
 * `switch`, `return`, `break`, `continue` and simple statements up to their `;`).
 * Expressions stay token lists: the checks only need to know which names an expression
 * reads, and where a statement assigns.
 *
 * @module
 */

/** One token: an identifier, a number literal or an operator/punctuation. */
export interface Token {
  /** The token's text. */
  readonly text: string;
  /** What it is. */
  readonly kind: "id" | "num" | "op";
  /** 1-based line of the source. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

// Longest first: a multi-character operator is one token.
const OPERATORS = [
  "<<=",
  ">>=",
  "->",
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "++",
  "--",
  "<<",
  ">>",
];

/**
 * Split WGSL source into tokens, dropping comments (`//` to the end of the line, and
 * nested block comments).
 *
 * @example
 * ```ts
 * import { tokenize } from "./wgsl_tokens.ts";
 * tokenize("let a = b[i] + 1u; // c").map((t) => t.text);
 * // ["let", "a", "=", "b", "[", "i", "]", "+", "1u", ";"]
 * ```
 */
export function tokenize(source: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = source.length;
  while (i < n) {
    const ch = source[i];
    if (ch === "\n") {
      line++;
      lineStart = i + 1;
      i++;
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "\r") {
      i++;
      continue;
    }
    if (source.startsWith("//", i)) {
      while (i < n && source[i] !== "\n") i++;
      continue;
    }
    if (source.startsWith("/*", i)) {
      let depth = 0;
      do {
        if (source.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (source.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else {
          if (source[i] === "\n") {
            line++;
            lineStart = i + 1;
          }
          i++;
        }
      } while (depth > 0 && i < n);
      continue;
    }
    const column = i - lineStart + 1;
    const rest = source.slice(i, i + 64);
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (id) {
      out.push({ text: id[0], kind: "id", line, column });
      i += id[0].length;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+[iu]?|(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?[fhiu]?)/.exec(rest);
    if (num) {
      out.push({ text: num[0], kind: "num", line, column });
      i += num[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => source.startsWith(o, i)) ?? ch;
    out.push({ text: op, kind: "op", line, column });
    i += op.length;
  }
  return out;
}

/**
 * Every token text named in `entryPoint`'s body or in the body of a function it reaches
 * through calls (`functions`: each function's name to its body's tokens): what an entry point
 * uses of a module's globals, as WebGPU's automatic layout and workgroup-memory count see it.
 *
 * @example
 * ```ts
 * import { namesReached, tokenize } from "./wgsl_tokens.ts";
 * const functions = new Map([["main", tokenize("{ f(); }")], ["f", tokenize("{ o[0] = 1.0; }")]]);
 * namesReached(functions, "main").has("o"); // true
 * ```
 */
export function namesReached(
  functions: ReadonlyMap<string, readonly Token[]>,
  entryPoint: string,
): Set<string> {
  const reached = new Set<string>([entryPoint]);
  const queue = [entryPoint];
  const named = new Set<string>();
  while (queue.length > 0) {
    for (const tok of functions.get(queue.pop()!) ?? []) {
      named.add(tok.text);
      if (functions.has(tok.text) && !reached.has(tok.text)) {
        reached.add(tok.text);
        queue.push(tok.text);
      }
    }
  }
  return named;
}

/** A statement of a function body. */
export type Statement =
  | { readonly kind: "block"; readonly body: Statement[]; readonly at: Token }
  | { readonly kind: "simple"; readonly tokens: Token[]; readonly at: Token }
  | {
    readonly kind: "if";
    readonly cond: Token[];
    readonly then: Statement[];
    readonly otherwise: Statement[] | null;
    readonly at: Token;
  }
  | {
    readonly kind: "loop";
    /** `for`'s initializer (a simple statement), or null. */
    readonly init: Statement | null;
    /** The loop's condition (`for`, `while`), or null (`loop`, or `for (;;)`). */
    readonly cond: Token[] | null;
    /** `for`'s update, or null. */
    readonly update: Statement | null;
    readonly body: Statement[];
    /** A `loop`'s `continuing` block (its `break if` is a `breakIf` statement in it). */
    readonly continuing: Statement[];
    readonly at: Token;
  }
  | {
    readonly kind: "switch";
    readonly selector: Token[];
    readonly clauses: Statement[][];
    readonly at: Token;
  }
  | { readonly kind: "return"; readonly value: Token[]; readonly at: Token }
  | { readonly kind: "break"; readonly at: Token }
  | { readonly kind: "breakIf"; readonly cond: Token[]; readonly at: Token }
  | { readonly kind: "continue"; readonly at: Token };

/** A parameter of a function: its name and, for an entry point's, its `@builtin`. */
export interface FunctionParam {
  /** The parameter's name. */
  readonly name: string;
  /** Its `@builtin(...)` value (`local_invocation_index`), or null. */
  readonly builtin: string | null;
  /** The first name of its type (`u32`, `vec3`, a struct's name), or null. */
  readonly type: string | null;
}

/** A function of a module. */
export interface FunctionDecl {
  /** The function's name. */
  readonly name: string;
  /** Its parameters, in order. */
  readonly params: FunctionParam[];
  /** Whether it is a compute entry point (`@compute`). */
  readonly compute: boolean;
  /** Its `@workgroup_size` dimensions as written (one token list each), or null. */
  readonly workgroupSize: Token[][] | null;
  /** The statements of its body. */
  readonly body: Statement[];
  /** Its `fn` token (where it is). */
  readonly at: Token;
}

/** What a module declares: its workgroup and private variables, structs, consts and functions. */
export interface ModuleDecls {
  /** Names of the `var<workgroup>` declarations. */
  readonly workgroupVars: Set<string>;
  /** Names of the `var<private>` declarations. */
  readonly privateVars: Set<string>;
  /** Each struct's members, with their builtins (an entry point's input struct). */
  readonly structs: Map<string, FunctionParam[]>;
  /** Its functions by name. */
  readonly functions: Map<string, FunctionDecl>;
  /** Each module-scope `const`'s initializer, by the const's name (not `override`s). */
  readonly consts: Map<string, Token[]>;
}

/** A source the parser cannot read (a construct outside the subset, or unbalanced brackets). */
export class WgslParseError extends Error {
  /**
   * @param message what is wrong
   * @param line 1-based line of the source
   */
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = "WgslParseError";
  }
}

class Parser {
  pos = 0;
  constructor(readonly toks: Token[]) {}

  peek(k = 0): Token | undefined {
    return this.toks[this.pos + k];
  }
  next(): Token {
    const t = this.toks[this.pos++];
    if (!t) throw new WgslParseError("unexpected end of the source", this.last());
    return t;
  }
  last(): number {
    return this.toks[this.toks.length - 1]?.line ?? 1;
  }
  expect(text: string): Token {
    const t = this.next();
    if (t.text !== text) throw new WgslParseError(`expected "${text}", found "${t.text}"`, t.line);
    return t;
  }
  is(text: string, k = 0): boolean {
    return this.peek(k)?.text === text;
  }

  /** Tokens up to (not including) `stop` at bracket depth 0; `stop` is left unread. */
  until(stop: string): Token[] {
    const out: Token[] = [];
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (!t) throw new WgslParseError(`expected "${stop}"`, this.last());
      if (depth === 0 && t.text === stop) return out;
      if (t.text === "(" || t.text === "[") depth++;
      if (t.text === ")" || t.text === "]") depth--;
      if (depth < 0) throw new WgslParseError(`unbalanced "${t.text}"`, t.line);
      out.push(this.next());
    }
  }

  /** Read `@name` and `@name(...)` attributes: each name with its arguments' tokens. */
  attributes(): { name: Token; args: Token[] }[] {
    const attrs: { name: Token; args: Token[] }[] = [];
    while (this.is("@")) {
      this.next();
      const name = this.next();
      let args: Token[] = [];
      if (this.is("(")) {
        this.next();
        args = this.until(")");
        this.next();
      }
      attrs.push({ name, args });
    }
    return attrs;
  }

  block(): Statement[] {
    this.attributes(); // `for (...) @diagnostic(...) {`
    this.expect("{");
    const body: Statement[] = [];
    while (!this.is("}")) body.push(this.statement());
    this.next();
    return body;
  }

  statement(): Statement {
    this.attributes();
    const at = this.peek();
    if (!at) throw new WgslParseError("unexpected end of the source", this.last());
    switch (at.text) {
      case "{":
        return { kind: "block", body: this.block(), at };
      case ";":
        this.next();
        return { kind: "simple", tokens: [], at };
      case "if": {
        this.next();
        const cond = this.until("{");
        const then = this.block();
        let otherwise: Statement[] | null = null;
        if (this.is("else")) {
          this.next();
          otherwise = this.is("if") ? [this.statement()] : this.block();
        }
        return { kind: "if", cond, then, otherwise, at };
      }
      case "for": {
        this.next();
        this.expect("(");
        const initToks = this.until(";");
        this.next();
        const cond = this.until(";");
        this.next();
        const updateToks = this.until(")");
        this.next();
        const body = this.block();
        return {
          kind: "loop",
          init: initToks.length ? { kind: "simple", tokens: initToks, at: initToks[0] } : null,
          cond: cond.length ? cond : null,
          update: updateToks.length
            ? { kind: "simple", tokens: updateToks, at: updateToks[0] }
            : null,
          body,
          continuing: [],
          at,
        };
      }
      case "while": {
        this.next();
        const cond = this.until("{");
        return {
          kind: "loop",
          init: null,
          cond,
          update: null,
          body: this.block(),
          continuing: [],
          at,
        };
      }
      case "loop": {
        this.next();
        this.attributes();
        this.expect("{");
        const body: Statement[] = [];
        let continuing: Statement[] = [];
        while (!this.is("}")) {
          if (this.is("continuing")) {
            this.next();
            continuing = this.block();
          } else body.push(this.statement());
        }
        this.next();
        return { kind: "loop", init: null, cond: null, update: null, body, continuing, at };
      }
      case "switch": {
        this.next();
        const selector = this.until("{");
        this.expect("{");
        const clauses: Statement[][] = [];
        while (!this.is("}")) {
          const t = this.next();
          if (t.text !== "case" && t.text !== "default") {
            throw new WgslParseError(`expected "case" or "default", found "${t.text}"`, t.line);
          }
          this.until("{");
          clauses.push(this.block());
        }
        this.next();
        return { kind: "switch", selector, clauses, at };
      }
      case "return": {
        this.next();
        const value = this.until(";");
        this.next();
        return { kind: "return", value, at };
      }
      case "break": {
        this.next();
        if (this.is("if")) {
          this.next();
          const cond = this.until(";");
          this.next();
          return { kind: "breakIf", cond, at };
        }
        this.expect(";");
        return { kind: "break", at };
      }
      case "continue":
        this.next();
        this.expect(";");
        return { kind: "continue", at };
      default: {
        const tokens = this.until(";");
        this.next();
        return { kind: "simple", tokens, at };
      }
    }
  }

  /** The module's workgroup variables and functions; everything else is skipped. */
  module(): ModuleDecls {
    const workgroupVars = new Set<string>();
    const privateVars = new Set<string>();
    const structs = new Map<string, FunctionParam[]>();
    const functions = new Map<string, FunctionDecl>();
    const consts = new Map<string, Token[]>();
    while (this.peek()) {
      const attrs = this.attributes();
      const t = this.peek();
      if (!t) break;
      if (t.text === "fn") {
        this.next();
        const name = this.next().text;
        this.expect("(");
        const paramToks = this.until(")");
        this.next();
        this.until("{");
        const body = this.block();
        functions.set(name, {
          name,
          params: functionParams(paramToks),
          compute: attrs.some((a) => a.name.text === "compute"),
          workgroupSize: dimensions(attrs.find((a) => a.name.text === "workgroup_size")?.args),
          body,
          at: t,
        });
      } else if (t.text === "struct") {
        // members end in "," not ";": read the braces whole
        const head = this.until("{");
        const members: Token[] = [];
        let depth = 0;
        do {
          const b = this.next();
          if (b.text === "{") depth++;
          else if (b.text === "}") depth--;
          if (depth > 0 && !(depth === 1 && b.text === "{")) members.push(b);
        } while (depth > 0);
        if (this.is(";")) this.next();
        const name = head[1];
        if (name) structs.set(name.text, functionParams(members));
      } else {
        const decl = this.until(";");
        this.next();
        if (decl[0]?.text === "var" && decl[1]?.text === "<" && decl[2]?.text === "workgroup") {
          const name = decl.find((d, k) => k > 3 && d.kind === "id");
          if (name) workgroupVars.add(name.text);
        }
        if (decl[0]?.text === "var" && decl[1]?.text === "<" && decl[2]?.text === "private") {
          const name = decl.find((d, k) => k > 3 && d.kind === "id");
          if (name) privateVars.add(name.text);
        }
        const eq = decl.findIndex((d) => d.text === "=");
        if (decl[0]?.text === "const" && decl[1]?.kind === "id" && eq > 1) {
          consts.set(decl[1].text, decl.slice(eq + 1));
        }
      }
    }
    return { workgroupVars, privateVars, structs, functions, consts };
  }
}

/** `@workgroup_size`'s arguments split at their commas, or null without the attribute. */
function dimensions(args: Token[] | undefined): Token[][] | null {
  if (!args) return null;
  const dims: Token[][] = [[]];
  let depth = 0;
  for (const t of args) {
    if (t.text === "(" || t.text === "[") depth++;
    else if (t.text === ")" || t.text === "]") depth--;
    if (depth === 0 && t.text === ",") dims.push([]);
    else dims[dims.length - 1].push(t);
  }
  return dims.filter((d) => d.length > 0);
}

/** A parameter list's names (an identifier followed by `:` at the list's depth 0), with builtins. */
function functionParams(toks: Token[]): FunctionParam[] {
  const params: FunctionParam[] = [];
  let depth = 0;
  let builtin: string | null = null;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.text === "@" && toks[i + 1]?.text === "builtin") {
      builtin = toks[i + 3]?.text ?? null;
      i += 4;
      continue;
    }
    if (t.text === "<" || t.text === "(") depth++;
    else if (t.text === ">" || t.text === ")") depth--;
    else if (t.text === ">>") depth -= 2;
    else if (depth === 0 && t.kind === "id" && toks[i + 1]?.text === ":") {
      params.push({ name: t.text, builtin, type: toks[i + 2]?.text ?? null });
      builtin = null;
    }
  }
  return params;
}

/**
 * Parse a WGSL module into its workgroup variables and functions (bodies as statements).
 * Throws {@link WgslParseError} on a construct outside the subset.
 *
 * @example
 * ```ts
 * import { parseModule } from "./wgsl_tokens.ts";
 * const m = parseModule("var<workgroup> s: array<f32, 8>;\n@compute @workgroup_size(8)\n" +
 *   "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; }");
 * [...m.workgroupVars]; // ["s"]
 * m.functions.get("main")?.params[0].builtin; // "local_invocation_index"
 * ```
 */
export function parseModule(source: string): ModuleDecls {
  return new Parser(tokenize(source)).module();
}
