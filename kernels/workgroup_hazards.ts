/**
 * A static check of a compute kernel's barrier discipline: every access to workgroup
 * memory that another invocation may make between two barriers, and every barrier that
 * some invocations may not reach.
 *
 * Why static: on lavapipe a workgroup of up to eight invocations is one SIMD row that runs
 * in lock step, so a missing `workgroupBarrier()` changes no result there (session 51: three
 * of `expanded_fa2.wgsl`'s barriers could each be removed with every parity test passing),
 * and naga (wgpu's compiler) does not refuse a barrier in non-uniform control flow (Tint
 * does). This check reads the specialized source instead, the same on every device.
 *
 * What it reports, walking each compute entry point's control flow (loops to a fixpoint,
 * user functions inlined with their arguments):
 * - a **hazard**: two accesses to one workgroup variable, at least one a write, with a path
 *   from the first to the second that passes no `workgroupBarrier()` (or
 *   `workgroupUniformLoad`), unless both index the variable with the same expression and
 *   that expression depends on the invocation (`local_invocation_index`/`_id`,
 *   `global_invocation_id`, `subgroup_invocation_id`, or a value derived from one): such an
 *   access is taken as each invocation's own slot. Atomics: read-modify-writes of one
 *   variable do not conflict with each other, but an `atomicLoad` after an `atomicMax` (or
 *   before one) without a barrier does: the load wants the value every invocation's
 *   update has reached;
 * - a **divergent barrier**: a barrier under a condition that depends on the invocation, in
 *   a loop whose condition or `break`/`continue` does, or after a `return` some
 *   invocations took. WGSL requires every invocation of the workgroup to reach it.
 *
 * An access whose line carries `// @no-race: <why>` is exempt from hazards with accesses
 * earlier in the same trip through its loop (not ones carried around a loop's back edge,
 * so a removed barrier at the end of that loop is still reported): for a step that reads
 * other invocations' slots while writing its own, where the guard makes them disjoint
 * (rmsnorm.wgsl's tree reduction). The reason is required.
 *
 * It is a check, not a proof: it does not evaluate index arithmetic, so two different
 * expressions always conflict and the same invocation-dependent expression never does.
 * Check the source as written, before kernels/unroll.ts: the unrolled copies of a loop make
 * the same accesses in the same order, but each copy binds its own constant, so the
 * own-slot comparison no longer sees that `part[(g * CPG + c) * PSTRIDE + lane]` for c = 0
 * and c = 1 are one invocation's (the unrolled GPU-class kernels have such findings).
 *
 * @module
 */
import { INCLUDED_MARKER } from "../gpu/shader.ts";
import { parseModule, type Statement, type Token, WgslParseError } from "./wgsl_tokens.ts";

/** One access to a workgroup variable, as a finding names it. */
export interface AccessSite {
  /** 1-based line of the specialized source. */
  readonly line: number;
  /** "read", "write", "atomic update" or "atomic load". */
  readonly kind: string;
  /** The access as written, with its index (`kv[dd / VR][dd % VR][tx]`). */
  readonly text: string;
}

/** A finding of {@link workgroupHazards}. */
export interface WorkgroupHazard {
  /** "hazard" (two accesses, no barrier between) or "divergent barrier". */
  readonly kind: "hazard" | "divergent barrier";
  /** The entry point it was found in. */
  readonly entry: string;
  /** The workgroup variable (hazards). */
  readonly variable?: string;
  /** The earlier access (hazards). */
  readonly first?: AccessSite;
  /** The later access, or the barrier's line (divergent barriers). */
  readonly second: AccessSite;
  /** Whether the earlier access reaches the later one around a loop's back edge. */
  readonly carried?: boolean;
  /** What is wrong, naming the lines. */
  readonly message: string;
}

type AccessKind = "read" | "write" | "atomic update" | "atomic load";

interface Access {
  readonly variable: string;
  readonly kind: AccessKind;
  readonly line: number;
  readonly column: number;
  /** Index path with each name resolved to its binding. */
  readonly key: string;
  /**
   * Its subscripts (`[..]`, `.field`), each keyed and marked when it depends on the
   * invocation (the own-slot comparison).
   */
  readonly parts: readonly { readonly key: string; readonly tainted: boolean }[];
  /** The access as written. */
  readonly text: string;
  /** Where it is: "line 243", or "line 243, in sp_set() called at line 432". */
  readonly where: string;
  /**
   * The loop (its line:column) whose back edge carried it since it was made, while the walk
   * is inside that loop; null once the walk leaves it, or if it was not carried.
   */
  readonly carried: string | null;
}

/** Accesses made since the last barrier on some path, per variable. */
type Pending = Map<string, Map<string, Access>>;

interface Binding {
  /** How an index names it: a unique name, or a parameter's argument text. */
  readonly key: string;
  /** Whether its value depends on the invocation. */
  tainted: boolean;
}

interface Frame {
  breaks: Pending[];
  continues: Pending[];
  /** Tainted-condition depth at the frame's start. */
  readonly depth: number;
  /** A break/continue/return under a condition tainted inside the frame. */
  divergent: boolean;
  readonly isLoop: boolean;
  /** Barriers met inside (divergent barrier report when the loop is divergent). */
  barriers: Token[];
}

interface Scope {
  readonly names: Map<string, Binding>;
}

const INVOCATION_BUILTINS = new Set([
  "local_invocation_index",
  "local_invocation_id",
  "global_invocation_id",
  "subgroup_invocation_id",
]);

const ATOMIC_UPDATES = new Set([
  "atomicStore",
  "atomicAdd",
  "atomicSub",
  "atomicMax",
  "atomicMin",
  "atomicAnd",
  "atomicOr",
  "atomicXor",
  "atomicExchange",
  "atomicCompareExchangeWeak",
]);

// Binary operators, written with a space either side when a finding quotes an access.
const SPACED = new Set(["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", ">", "<=", ">="]);

const ASSIGN_OPS = new Set(["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]);

function clonePending(p: Pending): Pending {
  return new Map([...p].map(([v, m]) => [v, new Map(m)]));
}

function joinPending(states: (Pending | null)[]): Pending | null {
  let out: Pending | null = null;
  for (const s of states) {
    if (!s) continue;
    if (!out) {
      out = clonePending(s);
      continue;
    }
    for (const [v, m] of s) {
      const into = out.get(v) ?? new Map<string, Access>();
      for (const [k, a] of m) into.set(k, a);
      out.set(v, into);
    }
  }
  return out;
}

function pendingSize(p: Pending | null): number {
  let n = 0;
  for (const m of p?.values() ?? []) n += m.size;
  return n;
}

/**
 * The same accesses, marked as carried around the back edge of `loop` (those carried by no
 * loop yet), or, with `loop` null, unmarked where `from` carried them (the walk left it).
 */
function carry(p: Pending, loop: string | null, from: string): Pending {
  const out: Pending = new Map();
  for (const [v, m] of p) {
    const into = new Map<string, Access>();
    for (const a of m.values()) {
      const c = loop !== null
        ? (a.carried === null ? { ...a, carried: loop } : a)
        : (a.carried === from ? { ...a, carried: null } : a);
      into.set(accessId(c), c);
    }
    out.set(v, into);
  }
  return out;
}

function accessId(a: Access): string {
  return `${a.kind}|${a.line}:${a.column}|${a.key}|${a.carried ?? ""}`;
}

function conflicts(first: Access, second: Access): boolean {
  const atomic = (k: AccessKind) => k === "atomic update" || k === "atomic load";
  if (atomic(first.kind) || atomic(second.kind)) {
    // update/update commutes; a load wants every update on its side of a barrier
    return (first.kind === "atomic load") !== (second.kind === "atomic load");
  }
  if (first.kind === "read" && second.kind === "read") return false;
  return !ownSlots(first, second);
}

/**
 * Whether two accesses are taken as one invocation's own slots: the same subscripts
 * wherever either depends on the invocation, and at least one that does (`part[k][seg][r]`
 * and `part[k + 1u][seg][r]` with seg and r the invocation's: its own column of rows k and
 * k + 1).
 */
function ownSlots(a: Access, b: Access): boolean {
  if (a.parts.length !== b.parts.length) return false;
  let owned = false;
  for (let k = 0; k < a.parts.length; k++) {
    const x = a.parts[k];
    const y = b.parts[k];
    if (!x.tainted && !y.tainted) continue;
    if (x.key !== y.key) return false;
    owned = true;
  }
  return owned;
}

/** What can go wrong between two unsynchronized accesses, in words. */
function race(first: AccessKind, second: AccessKind): string {
  if (first === "atomic update") return "the load may come before other invocations' updates";
  if (first === "atomic load") return "the load may see a later update";
  if (first === "write" && second === "read") {
    return "an invocation may read it before another invocation's write";
  }
  if (first === "read") return "an invocation may overwrite it before another has read it";
  return "two invocations' writes may land in either order";
}

class Walker {
  readonly findings = new Map<string, WorkgroupHazard>();
  private scopes: Scope[] = [];
  private frames: Frame[] = [];
  private depth = 0; // tainted conditions entered
  private loopTaint = 0; // loops with a tainted condition entered
  private returned = false; // a return under a tainted condition has happened
  private callPath = "";
  /** ", in f() called at line N" while a call from the entry point is inlined. */
  private callNote = "";
  private returnStates: Pending[][] = [];

  constructor(
    private readonly decls: ReturnType<typeof parseModule>,
    private readonly entry: string,
    private readonly lines: string[],
    private readonly source: string,
  ) {}

  /** "line N" of the file, or "part.wgsl:N" for a line of an included part. */
  private at(line: number): string {
    const loc = sourceLocation(this.source, "", line);
    return loc.startsWith(":") ? `line ${line}` : loc;
  }

  private lookup(name: string): Binding | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const b = this.scopes[i].names.get(name);
      if (b) return b;
    }
    return undefined;
  }

  private isWorkgroupVar(name: string): boolean {
    return this.decls.workgroupVars.has(name) && !this.lookup(name);
  }

  private declare(name: string, at: Token, tainted: boolean): void {
    this.scopes[this.scopes.length - 1].names.set(name, {
      key: `${name}@${at.line}:${at.column}${this.callPath}`,
      tainted,
    });
  }

  /** An identifier as an index key names it. */
  private render(t: Token): string {
    if (t.kind !== "id") return t.text;
    return this.lookup(t.text)?.key ?? t.text;
  }

  private noRace(line: number): boolean {
    return /\/\/ @no-race: \S/.test(this.lines[line - 1] ?? "");
  }

  private record(p: Pending, a: Access): void {
    for (const b of p.get(a.variable)?.values() ?? []) {
      if (!conflicts(b, a)) continue;
      if (b.carried === null && (this.noRace(a.line) || this.noRace(b.line))) continue;
      const id = `h|${a.variable}|${b.line}:${b.column}|${b.kind}|${a.line}:${a.column}|${a.kind}`;
      // one finding per pair of sites, the direct path preferred to one around a loop
      if (this.findings.has(id) && (b.carried !== null || !this.findings.get(id)?.carried)) {
        continue;
      }
      const around = b.carried !== null
        ? `, around the back edge of the loop at ${this.at(Number(b.carried.split(":")[0]))},`
        : "";
      this.findings.set(id, {
        kind: "hazard",
        entry: this.entry,
        variable: a.variable,
        first: { line: b.line, kind: b.kind, text: b.text },
        second: { line: a.line, kind: a.kind, text: a.text },
        carried: b.carried !== null,
        message: `${b.kind} of ${b.text} (${b.where}) reaches the ${a.kind} of ${a.text} ` +
          `(${a.where})${around} with no workgroupBarrier() between: ${race(b.kind, a.kind)}`,
      });
    }
    const m = p.get(a.variable) ?? new Map<string, Access>();
    m.set(accessId(a), a);
    p.set(a.variable, m);
  }

  private barrier(p: Pending, at: Token): void {
    p.clear();
    for (const f of this.frames) if (f.isLoop) f.barriers.push(at);
    if (this.depth > 0 || this.returned) {
      this.divergent(
        at,
        this.returned && this.depth === 0
          ? "after a return that only some invocations take"
          : "under a condition that depends on the invocation",
      );
    }
  }

  private divergent(at: Token, why: string): void {
    const id = `d|${at.line}:${at.column}`;
    if (this.findings.has(id)) return;
    this.findings.set(id, {
      kind: "divergent barrier",
      entry: this.entry,
      second: { line: at.line, kind: "barrier", text: "workgroupBarrier()" },
      message:
        `the barrier at ${this.at(at.line)}${this.callNote} is ${why}: every invocation of the ` +
        `workgroup must reach it`,
    });
  }

  /**
   * The postfix chain after a workgroup variable at toks[i] (`[..]`, `.field`), as written
   * and as keyed; returns the index past it.
   */
  private chain(
    toks: Token[],
    i: number,
  ): { end: number; text: string; key: string; parts: Access["parts"] } {
    let j = i + 1;
    let depth = 0;
    while (j < toks.length) {
      const t = toks[j].text;
      if (depth === 0 && t !== "[" && t !== ".") break;
      if (t === "[") depth++;
      else if (t === "]") depth--;
      else if (depth === 0 && t === ".") j++; // the field name
      j++;
    }
    const part = toks.slice(i, j);
    return {
      end: j,
      text: part.map((t) => SPACED.has(t.text) ? ` ${t.text} ` : t.text).join(""),
      key: part.map((t) => this.render(t)).join(" "),
      parts: this.subscripts(toks, i + 1, j),
    };
  }

  /** The subscripts of a postfix chain toks[from..to): `[..]` and `.field`, keyed. */
  private subscripts(toks: Token[], from: number, to: number): Access["parts"] {
    const parts: { key: string; tainted: boolean }[] = [];
    let k = from;
    while (k < to) {
      if (toks[k].text === ".") {
        parts.push({ key: `.${toks[k + 1]?.text}`, tainted: false });
        k += 2;
        continue;
      }
      let depth = 0;
      const start = k;
      do {
        if (toks[k].text === "[") depth++;
        else if (toks[k].text === "]") depth--;
        k++;
      } while (depth > 0 && k < to);
      parts.push({
        key: toks.slice(start, k).map((t) => this.render(t)).join(" "),
        tainted: this.taintedRange(toks, start, k),
      });
    }
    return parts;
  }

  /** Is a range of tokens tainted? */
  private taintedRange(toks: Token[], from: number, to: number): boolean {
    for (let k = from; k < to; k++) {
      if (toks[k].kind === "id" && this.lookup(toks[k].text)?.tainted) return true;
    }
    return false;
  }

  private access(
    p: Pending,
    toks: Token[],
    i: number,
    kind: AccessKind,
  ): number {
    const c = this.chain(toks, i);
    this.record(p, {
      variable: toks[i].text,
      kind,
      line: toks[i].line,
      column: toks[i].column,
      key: c.key,
      parts: c.parts,
      text: c.text,
      where: `${this.at(toks[i].line)}${this.callNote}`,
      carried: null,
    });
    return c.end;
  }

  /** Split call arguments: toks[open] is "("; returns the argument ranges and the index past ")". */
  private args(toks: Token[], open: number): { ranges: [number, number][]; end: number } {
    const ranges: [number, number][] = [];
    let depth = 0;
    let start = open + 1;
    for (let j = open; j < toks.length; j++) {
      const t = toks[j].text;
      if (t === "(" || t === "[") depth++;
      else if (t === ")" || t === "]") {
        depth--;
        if (depth === 0) {
          if (j > start) ranges.push([start, j]);
          return { ranges, end: j + 1 };
        }
      } else if (t === "," && depth === 1) {
        ranges.push([start, j]);
        start = j + 1;
      }
    }
    return { ranges, end: toks.length };
  }

  /**
   * Read an expression: record its accesses (calls inlined, barriers applied), and say
   * whether its value depends on the invocation.
   */
  expr(p: Pending, toks: Token[], from = 0, to = toks.length): boolean {
    let tainted = false;
    let i = from;
    while (i < to) {
      const t = toks[i];
      if (t.kind !== "id" || toks[i - 1]?.text === ".") {
        i++;
        continue;
      }
      const name = t.text;
      if (toks[i + 1]?.text === "(" && !this.lookup(name)) {
        const { ranges, end } = this.args(toks, i + 1);
        if (name === "workgroupBarrier") {
          this.barrier(p, t);
          i = end;
          continue;
        }
        const first = ranges[0];
        const pointee = first && toks[first[0]].text === "&" &&
            this.isWorkgroupVar(toks[first[0] + 1]?.text ?? "")
          ? first[0] + 1
          : -1;
        if (name === "workgroupUniformLoad" && pointee >= 0) {
          this.barrier(p, t);
          this.expr(p, toks, pointee + 1, first[1]); // the index
          this.access(p, toks, pointee, "read");
          i = end;
          continue;
        }
        if ((name === "atomicLoad" || ATOMIC_UPDATES.has(name)) && pointee >= 0) {
          this.expr(p, toks, pointee + 1, first[1]);
          for (const r of ranges.slice(1)) tainted = this.expr(p, toks, r[0], r[1]) || tainted;
          this.access(p, toks, pointee, name === "atomicLoad" ? "atomic load" : "atomic update");
          // every invocation gets its own result from an update
          if (name !== "atomicLoad" && name !== "atomicStore") tainted = true;
          i = end;
          continue;
        }
        const fn = this.decls.functions.get(name);
        if (fn) {
          tainted = this.call(p, fn, toks, ranges, t) || tainted;
          i = end;
          continue;
        }
        if (name.startsWith("subgroup") && name !== "subgroupBroadcastFirst") tainted = true;
        i++;
        continue;
      }
      if (this.isWorkgroupVar(name)) {
        const c = this.chain(toks, i);
        this.expr(p, toks, i + 1, c.end); // reads in the index
        // a value read from workgroup memory is the invocation's when its index is
        tainted = this.taintedRange(toks, i + 1, c.end) || tainted;
        this.access(p, toks, i, toks[i - 1]?.text === "&" ? "write" : "read");
        i = c.end;
        continue;
      }
      if (this.lookup(name)?.tainted) tainted = true;
      i++;
    }
    return tainted;
  }

  /** Inline a user function: parameters bound to the argument texts. */
  private call(
    p: Pending,
    fn: { name: string; params: { name: string }[]; body: Statement[] },
    toks: Token[],
    ranges: [number, number][],
    at: Token,
  ): boolean {
    const bound = new Map<string, Binding>();
    let anyTainted = false;
    fn.params.forEach((param, k) => {
      const r = ranges[k];
      if (!r) return;
      const t = this.expr(p, toks, r[0], r[1]);
      anyTainted ||= t;
      bound.set(param.name, {
        key: `(${toks.slice(r[0], r[1]).map((x) => this.render(x)).join(" ")})`,
        tainted: t,
      });
    });
    const saved = { scopes: this.scopes, frames: this.frames, path: this.callPath };
    // the callee sees only its parameters and module scope
    this.scopes = [{ names: bound }];
    this.frames = [];
    this.callPath = `${saved.path}<${at.line}:${at.column}`;
    const note = this.callNote;
    if (note === "") this.callNote = `, in ${fn.name}() called at ${this.at(at.line)}`;
    this.returnStates.push([]);
    const out = this.block(p, fn.body);
    const returns = this.returnStates.pop() ?? [];
    this.scopes = saved.scopes;
    this.frames = saved.frames;
    this.callPath = saved.path;
    this.callNote = note;
    const joined = joinPending([out, ...returns]) ?? new Map();
    p.clear();
    for (const [v, m] of joined) p.set(v, m);
    return anyTainted;
  }

  /** A simple statement: a declaration, an assignment or a call. */
  private simple(p: Pending, toks: Token[]): void {
    if (toks.length === 0) return;
    const head = toks[0].text;
    if (head === "let" || head === "var" || head === "const") {
      const name = toks[head === "var" && toks[1]?.text === "<" ? 4 : 1];
      const eq = toks.findIndex((t) => t.text === "=");
      const tainted = eq >= 0 ? this.expr(p, toks, eq + 1) : false;
      if (name) this.declare(name.text, name, tainted);
      return;
    }
    let depth = 0;
    let op = -1;
    for (let k = 0; k < toks.length && op < 0; k++) {
      const t = toks[k].text;
      if (t === "(" || t === "[") depth++;
      else if (t === ")" || t === "]") depth--;
      else if (depth === 0 && (ASSIGN_OPS.has(t) || t === "++" || t === "--")) op = k;
    }
    if (op < 0) {
      this.expr(p, toks);
      return;
    }
    const opText = toks[op].text;
    const rhsTainted = opText === "++" || opText === "--" ? false : this.expr(p, toks, op + 1);
    let root = 0;
    while (toks[root]?.text === "*" || toks[root]?.text === "(") root++;
    const target = toks[root];
    if (target?.text === "_") return;
    if (target && this.isWorkgroupVar(target.text)) {
      const c = this.chain(toks, root);
      this.expr(p, toks, root + 1, c.end);
      if (opText !== "=") this.access(p, toks, root, "read");
      this.access(p, toks, root, "write");
      return;
    }
    this.expr(p, toks, root + 1, op); // indices of a local target
    const b = target ? this.lookup(target.text) : undefined;
    if (b && rhsTainted) b.tainted = true;
  }

  private block(p: Pending | null, body: Statement[]): Pending | null {
    this.scopes.push({ names: new Map() });
    try {
      for (const s of body) {
        if (!p) return null;
        p = this.statement(p, s);
      }
      return p;
    } finally {
      this.scopes.pop();
    }
  }

  private branch(p: Pending, body: Statement[], tainted: boolean): Pending | null {
    if (tainted) this.depth++;
    try {
      return this.block(clonePending(p), body);
    } finally {
      if (tainted) this.depth--;
    }
  }

  private leave(kind: "break" | "continue" | "return", p: Pending, at: Token): null {
    if (kind === "return") {
      const states = this.returnStates[this.returnStates.length - 1];
      if (states) states.push(p);
      // the entry point: some invocations leave
      else if (this.depth > 0 || this.loopTaint > 0) this.returned = true;
      return null;
    }
    for (let k = this.frames.length - 1; k >= 0; k--) {
      const f = this.frames[k];
      if (kind === "continue" && !f.isLoop) continue;
      if (this.depth > f.depth) f.divergent = true;
      (kind === "break" ? f.breaks : f.continues).push(p);
      return null;
    }
    throw new Error(`line ${at.line}: ${kind} outside a loop`);
  }

  private statement(p: Pending, s: Statement): Pending | null {
    switch (s.kind) {
      case "block":
        return this.block(p, s.body);
      case "simple":
        this.simple(p, s.tokens);
        return p;
      case "if": {
        const tainted = this.expr(p, s.cond);
        const a = this.branch(p, s.then, tainted);
        const b = s.otherwise ? this.branch(p, s.otherwise, tainted) : clonePending(p);
        return joinPending([a, b]);
      }
      case "switch": {
        const tainted = this.expr(p, s.selector);
        const frame: Frame = {
          breaks: [],
          continues: [],
          depth: this.depth,
          divergent: false,
          isLoop: false,
          barriers: [],
        };
        this.frames.push(frame);
        const outs = s.clauses.map((c) => this.branch(p, c, tainted));
        this.frames.pop();
        // a continue inside a switch belongs to the loop around it
        return joinPending([...outs, ...frame.breaks]);
      }
      case "loop":
        return this.loop(p, s);
      case "return":
        this.expr(p, s.value);
        return this.leave("return", p, s.at);
      case "break":
        return this.leave("break", p, s.at);
      case "continue":
        return this.leave("continue", p, s.at);
      case "breakIf": {
        const tainted = this.expr(p, s.cond);
        if (tainted) this.depth++;
        this.leave("break", clonePending(p), s.at);
        if (tainted) this.depth--;
        return p;
      }
    }
  }

  private loop(p: Pending, s: Extract<Statement, { kind: "loop" }>): Pending | null {
    this.scopes.push({ names: new Map() });
    try {
      if (s.init) this.statement(p, s.init);
      const loopId = `${s.at.line}:${s.at.column}${this.callPath}`;
      let head: Pending = clonePending(p);
      let exit: Pending | null = null;
      let divergent = false;
      let barriers: Token[] = [];
      for (let round = 0; round < 64; round++) {
        const frame: Frame = {
          breaks: [],
          continues: [],
          depth: this.depth,
          divergent: false,
          isLoop: true,
          barriers: [],
        };
        const state = clonePending(head);
        const condTainted = s.cond ? this.expr(state, s.cond) : false;
        this.frames.push(frame);
        // (its barriers are reported as the loop's, below)
        if (condTainted) this.loopTaint++;
        const body = this.block(clonePending(state), s.body);
        if (condTainted) this.loopTaint--;
        let cont = joinPending([body, ...frame.continues]);
        if (cont && s.continuing.length) cont = this.block(cont, s.continuing);
        if (cont && s.update) cont = this.statement(cont, s.update);
        this.frames.pop();
        divergent = condTainted || frame.divergent;
        barriers = frame.barriers;
        // the loop ends where its condition fails, or at a break
        exit = joinPending([s.cond ? state : null, ...frame.breaks]);
        const next = joinPending([head, cont ? carry(cont, loopId, "") : null]) ?? head;
        if (pendingSize(next) === pendingSize(head)) break;
        head = next;
      }
      if (divergent) {
        for (const b of barriers) {
          this.divergent(
            b,
            "in a loop whose trip count depends on the invocation " +
              `(${this.at(s.at.line)})`,
          );
        }
      }
      for (const f of this.frames) if (f.isLoop) f.barriers.push(...barriers);
      // past the loop, what its back edge carried is no longer "from an earlier trip"
      return exit ? carry(exit, null, loopId) : null;
    } finally {
      this.scopes.pop();
    }
  }

  run(fn: { params: { name: string; builtin: string | null }[]; body: Statement[]; at: Token }) {
    const names = new Map<string, Binding>();
    for (const param of fn.params) {
      names.set(param.name, {
        key: param.name,
        tainted: param.builtin !== null && INVOCATION_BUILTINS.has(param.builtin),
      });
    }
    this.scopes = [{ names }];
    this.block(new Map(), fn.body);
  }
}

/**
 * Where a line of a specialized source comes from: the file's own line, or an included
 * part's (below a `// @included` marker, kernels/source.ts).
 *
 * @example
 * ```ts
 * import { sourceLocation } from "./workgroup_hazards.ts";
 * sourceLocation("a\n// @included p.wgsl from k.wgsl:1\nb", "k.wgsl", 3); // "p.wgsl:1"
 * ```
 */
export function sourceLocation(source: string, fileName: string, line: number): string {
  const lines = source.split("\n");
  for (let i = Math.min(line, lines.length) - 2; i >= 0; i--) {
    const m = INCLUDED_MARKER.exec(lines[i]);
    if (m) return `${m[1]}:${line - 1 - i}`;
  }
  return `${fileName}:${line}`;
}

/**
 * The workgroup-memory hazards and divergent barriers of a WGSL module's compute entry
 * points (see the module's documentation for what counts). Throws a
 * {@link import("./wgsl_tokens.ts").WgslParseError} on source outside the parsed subset.
 *
 * @example
 * ```ts
 * import { workgroupHazards } from "./workgroup_hazards.ts";
 * const src = "var<workgroup> s: array<f32, 64>;\n@compute @workgroup_size(64)\n" +
 *   "fn main(@builtin(local_invocation_index) i: u32) {\n  s[i] = 1.0;\n  let x = s[63u - i];\n}";
 * workgroupHazards(src).map((h) => h.kind); // ["hazard"]
 * ```
 */
export function workgroupHazards(source: string): WorkgroupHazard[] {
  const decls = parseModule(source);
  const lines = source.split("\n");
  const out: WorkgroupHazard[] = [];
  const entries = [...decls.functions.values()].filter((f) => f.compute);
  if (entries.length === 0 && /@compute\b/.test(source.replace(/\/\/.*$/gm, ""))) {
    throw new WgslParseError("a @compute function the parser did not find", 1);
  }
  for (const fn of entries) {
    const w = new Walker(decls, fn.name, lines, source);
    w.run(fn);
    out.push(...w.findings.values());
  }
  return out.sort((a, b) =>
    a.second.line - b.second.line || (a.first?.line ?? 0) - (b.first?.line ?? 0)
  );
}
