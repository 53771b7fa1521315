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
 * user functions inlined with their arguments, the right operand of `&&`/`||` as a branch):
 * - a **hazard**: two accesses to one workgroup variable, at least one a write, with a path
 *   from the first to the second that passes no `workgroupBarrier()` (or
 *   `workgroupUniformLoad`), unless both index the variable with the same expression and
 *   that expression depends on the invocation (`local_invocation_index`/`_id`,
 *   `global_invocation_id`, `subgroup_invocation_id`, `subgroup_id`, or a value derived from
 *   one): such an access is taken as each invocation's own slot (unless evaluating it finds
 *   two invocations that reach one slot: below). Different fields, or
 *   different integer literals, at one step of two subscripts never overlap. An access
 *   through a pointer (`ptr<workgroup, ..>` parameter, `let p = &s[i]`; `*p`, `(*p)[j]`,
 *   `p[j]`) is the variable's. Atomics: read-modify-writes of one variable do not conflict
 *   with each other, but an `atomicLoad` after an `atomicMax` (or before one) without a
 *   barrier does: the load wants the value every invocation's update has reached. A plain
 *   write of an invocation-derived value to a slot whose subscripts are not, outside any
 *   invocation-dependent condition (`n = lid;`), is a hazard on its own: the last wins;
 * - a **divergent barrier**: a barrier (also `storageBarrier()`, `textureBarrier()`) under a
 *   condition that depends on the invocation, in a loop whose condition or
 *   `break`/`continue` does, in a switch some invocations leave by such a `break`, or after a
 *   `return` some invocations took (in the entry point, or earlier in the inlined function
 *   it is in). WGSL requires every invocation of the workgroup to reach it. Besides the
 *   builtins above (and an input struct's members carrying one), a value depends on the
 *   invocation when it comes from an atomic update, a subgroup operation, or was set under
 *   such a condition (through a pointer, a `var<private>`, a function's result too): a
 *   "varying" value, never an own slot. Loops are walked again until that settles.
 *
 * An access whose line carries `// @no-race: <why>` is exempt from hazards with accesses
 * earlier in the same trip through its loop (not ones carried around a loop's back edge,
 * so a removed barrier at the end of that loop is still reported): for a step that reads
 * other invocations' slots while writing its own, where the guard makes them disjoint
 * (rmsnorm.wgsl's tree reduction). The reason is required.
 *
 * It is a check, not a proof. It evaluates index arithmetic in one case: where every
 * invocation-dependent subscript of an access is a function of `local_invocation_index`,
 * `local_invocation_id`'s components and constants (literals, `const`s, and `let`s or
 * arguments bound to such a function; not an `override`, the global id, a `var`) and
 * `@workgroup_size` is constant and at most 1024 invocations, the subscripts are computed
 * jointly in each invocation (kernels/wgsl_expr.ts `laneValues`, WGSL's u32/i32 arithmetic),
 * over the invocations that make the access. Those are known where every
 * invocation-dependent `if` condition around it is such a function too: it is evaluated in
 * each invocation, the `then` branch takes those where it holds, the `else` the others,
 * nested ones both; and a `return` under such conditions alone (no loop, `switch` or uniform
 * `if` around it in its function) takes those that reach it away from what follows. Two
 * invocations among them that reach one slot (`s[lid % 32u]` with 64; `s[lid % 16u]` under
 * `if (lid < 32u)`) make it no one's own: accesses through it conflict, two writes through
 * it too, and a single write of each invocation's own value there is a hazard on its own;
 * the finding names the two invocations and the slot. Two accesses through one subscript
 * under different such conditions are own only if no two of all the invocations making
 * either reach one slot. Not known (the access taken as own, as below): under a condition
 * that is not such a function (`lid < params.n`), a `switch` on the invocation, the right
 * operand of `&&`/`||`, in a loop whose trips depend on the invocation or that some left
 * early, after a return not placed. Elsewhere two different expressions always
 * conflict and the same invocation-dependent expression never does while its value stays,
 * except that two writes which both index by the invocation are never reported against each
 * other (a tile staged as `s[lid]` and `s[lid + WG]`, or one unrolled copy per element: only
 * arithmetic could tell those from a collision; a read after them still needs its barrier).
 *
 * A subscript's value goes when, on some path between the two accesses, a `var` it names is
 * assigned (also through a pointer or in a callee, or declared again by a later trip of a
 * loop), a `let` or argument it names is evaluated again after such a change or from a
 * function's result, an atomic or a subgroup operation, or workgroup memory it reads is
 * written: then `s[j]` before `j = (j + 1u) % 64u` and `s[j]` after it conflict. One change
 * keeps it: adding a constant stride at least the invocation index's window (the workgroup
 * size for `local_invocation_index`, a dimension for a component of `local_invocation_id`)
 * to a `var` that started at the index: `for (var i = lid; ..; i += WG)`, the stride written
 * as `@workgroup_size` writes it or a literal or `const` of at least its value. Every value
 * `lid + k * WG` is this invocation's and no other's (ignoring overflow), so the loop's
 * read-modify-write needs no barrier; the index plus a multiple of such a stride
 * (`lid + t * WG`, in a subscript or an initializer) is one too, whatever the multiple. The
 * unrolled copies of a loop (kernels/unroll.ts) each bind their own constant: two
 * subscripts, as one loop variable is before and after its `c++`.
 *
 * Left to `@no-race` or a false report: one invocation's strided slots in two loops
 * (`for (var i = lid; ..; i += WG)` twice) conflict; ping-pong buffers `pp[cur]`/
 * `pp[1u - cur]` conflict. `workgroupUniformLoad` is taken as a barrier before its read only
 * (the WGSL spec says it executes a control barrier, not on which side; Tint's polyfill
 * places one on each).
 *
 * @module
 */
import { INCLUDED_MARKER } from "../gpu/shader.ts";
import {
  closingBracket,
  constInt,
  type LaneNames,
  type Lanes,
  laneValues,
  shortCircuitOperands,
  sumOfProducts,
} from "./wgsl_expr.ts";
import { parseModule, type Statement, type Token, WgslParseError } from "./wgsl_tokens.ts";

/** One access to a workgroup variable, as a finding names it. */
export interface AccessSite {
  /** 1-based line of the specialized source. */
  readonly line: number;
  /** "read", "write", "atomic update", "atomic store" or "atomic load". */
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

type AccessKind = "read" | "write" | "atomic update" | "atomic store" | "atomic load";

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
  readonly parts: readonly Subscript[];
  /** The access as written. */
  readonly text: string;
  /**
   * Two invocations whose subscripts, evaluated, name one slot: the access is no invocation's
   * own (null when they name none, or when they cannot be evaluated here).
   */
  readonly shared: Sharing | null;
  /**
   * The invocations that make it ({@link Reach}), when the conditions on its path are
   * evaluated; null otherwise.
   */
  readonly reach: Reach | null;
  /** Where it is: "line 243", or "line 243, in sp_set() called at line 432". */
  readonly where: string;
  /**
   * The loop (its line:column) whose back edge carried it since it was made, while the walk
   * is inside that loop; null once the walk leaves it, or if it was not carried.
   */
  readonly carried: string | null;
}

/**
 * A set of the workgroup's invocations: one character per invocation, "1" for one in it
 * ("1100" for the first two of four). A string, so equal sets compare equal and key a cache.
 */
type Reach = string;

/**
 * What a condition entered lets through: the invocations it does (an invocation-dependent
 * one's value evaluated in each, {@link laneValues}), null where such a one is not evaluated,
 * or "all" for a uniform `if` or `switch` (all the invocations here, or none).
 */
type Guard = Reach | null | "all";

/** Two invocations that reach one slot through the same subscripts. */
interface Sharing {
  /** The lower invocation index (`local_invocation_index`). */
  readonly first: number;
  /** The other. */
  readonly second: number;
  /** The slot, its evaluated subscripts as numbers (`tile[0]`). */
  readonly slot: string;
}

/** One subscript of an access (`[..]` or `.field`). */
interface Subscript {
  /** As written, each name resolved to its binding's key. */
  readonly key: string;
  /** As written (`[lid % 32u]`, `.x`). */
  readonly text: string;
  /** Whether it depends on the invocation's id. */
  readonly tainted: boolean;
  /** Whether it may differ between invocations only for where it was set (taint 1). */
  readonly varying: boolean;
  /**
   * Its value in each invocation of the workgroup, when it is a function of the invocation
   * builtins and constants only ({@link laneValues}); null otherwise.
   */
  readonly lanes: Lanes | null;
  /**
   * What its value depends on though its key stays the same: the `var`s it names, a `let`
   * or argument with a fresh initializer (a call), workgroup variables it reads (`s@wg`).
   */
  readonly roots: ReadonlySet<string>;
  /**
   * One of its roots changed since the access, on this path: the key no longer names the
   * slot the access touched, so it is no invocation's own slot for a later access.
   */
  readonly moved?: boolean;
}

/**
 * How far apart an invocation index's values can lie in one workgroup (`local_invocation_index`:
 * the workgroup size): its value, or its text where it has none here (an `override`).
 */
interface Window {
  readonly value: number | null;
  readonly text: string | null;
}

/** Accesses made since the last barrier on some path, per variable. */
type Pending = Map<string, Map<string, Access>>;

/** A pointer into workgroup memory (`&s[i]`, bound to a `let` or a parameter). */
interface WgPointer {
  readonly variable: string;
  /** The subscripts it was taken with, keyed where it was taken. */
  readonly parts: Access["parts"];
  /** As written where it was taken (`s[i]`). */
  readonly text: string;
}

interface Binding {
  /** How an index names it: a unique name, or a parameter's argument text. */
  readonly key: string;
  /** Whether its value is derived from the invocation's id (own-slot subscripts). */
  tainted: boolean;
  /**
   * Whether its value may differ between invocations only because of where it was set (under
   * a condition that depends on the invocation): not an own slot, but not uniform either.
   */
  varying?: boolean;
  /** A `var` (or a pointer parameter's variable): its value may change after it is made. */
  readonly mutable?: boolean;
  /** The fields that depend on the invocation (an entry point's input struct). */
  readonly fields?: ReadonlySet<string>;
  /** What a pointer to a function or private variable points to. */
  readonly pointee?: Binding;
  /** What a pointer into workgroup memory points to. */
  readonly wg?: WgPointer;
  /** How many loops enclose its declaration (0 if none, or absent). */
  readonly nest?: number;
  /** The roots of its value besides itself ({@link Subscript.roots}). */
  readonly roots?: ReadonlySet<string>;
  /**
   * Its value in each invocation, for a `let`, `const` or argument whose value is a function
   * of the invocation builtins and constants only (never a `var`'s).
   */
  readonly lanes?: Lanes;
  /** The values of an invocation builtin's components and an input struct's members (`x`, `lv.x`). */
  readonly components?: ReadonlyMap<string, Lanes>;
  /**
   * A `var` set to an invocation index (`var i = lid;`) and since changed only by adding a
   * constant stride no smaller than the index's window (`i += WG`): each value it takes is
   * this invocation's, never another's. Dropped at any other assignment.
   */
  family?: Window;
}

/**
 * How an expression's value depends on the invocation: 0 not at all, 1 it may differ between
 * invocations (set under an invocation-dependent condition), 2 it is derived from the
 * invocation's id (and may index its own slot).
 */
type Taint = 0 | 1 | 2;

function most(a: Taint, b: Taint): Taint {
  return a > b ? a : b;
}

/** A barrier met inside a loop or switch, with the call it was met in. */
interface BarrierSite {
  readonly at: Token;
  readonly note: string;
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
  barriers: BarrierSite[];
}

interface Scope {
  readonly names: Map<string, Binding>;
}

const INVOCATION_BUILTINS = new Set([
  "local_invocation_index",
  "local_invocation_id",
  "global_invocation_id",
  "subgroup_invocation_id",
  "subgroup_id",
]);

/** Barriers that order no workgroup memory but must still be reached by every invocation. */
const OTHER_BARRIERS = new Set(["storageBarrier", "textureBarrier"]);

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

const NO_ROOTS: ReadonlySet<string> = new Set();

/** The most invocations a workgroup may have for its subscripts to be evaluated in each. */
const MAX_LANES = 1024;

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
  const moved = a.parts.some((x) => x.moved)
    ? a.parts.map((x) => x.moved ? "m" : "-").join("")
    : "";
  return `${a.kind}|${a.line}:${a.column}|${a.key}|${a.carried ?? ""}|${moved}`;
}

function conflicts(first: Access, second: Access): boolean {
  if (disjoint(first, second)) return false;
  const atomic = (k: AccessKind) =>
    k === "atomic update" || k === "atomic load" || k === "atomic store";
  if (first.kind === "atomic store" || second.kind === "atomic store") {
    // a store commutes with no update (`atomicStore(&b[i], 0u)` after another invocation's
    // `atomicAdd(&b[v], 1u)` loses the add): it conflicts as a plain write does; two stores
    // through different invocation-indexed subscripts are a staging pattern, as two writes are
    if (
      first.kind === "atomic store" && second.kind === "atomic store" &&
      invocationIndexed(first) && invocationIndexed(second)
    ) return sharedSlot(first, second) !== null;
    return !ownSlots(first, second);
  }
  if (atomic(first.kind) || atomic(second.kind)) {
    // update/update commutes; a load wants every update on its side of a barrier
    return (first.kind === "atomic load") !== (second.kind === "atomic load") &&
      !ownSlots(first, second);
  }
  if (first.kind === "read" && second.kind === "read") return false;
  // Two writes that each index by the invocation: a staging pattern (each invocation stores
  // its own elements of a tile, `s[lid]` and `s[lid + WG]`, or an unrolled copy per element),
  // which only index arithmetic could tell from a real collision. Not reported; a write
  // followed by a read, or a read by a write, still is; and so are two writes through the
  // same subscripts that two invocations were found to share (`s[lid % 32u]`, 64 of them).
  if (
    first.kind === "write" && second.kind === "write" && invocationIndexed(first) &&
    invocationIndexed(second)
  ) return sharedSlot(first, second) !== null;
  return !ownSlots(first, second);
}

/**
 * The invocations that share the slot two accesses with the same invocation-dependent
 * subscripts name, when evaluating them found two; else null.
 */
function sharedSlot(a: Access, b: Access): Sharing | null {
  if (!sameSlots(a, b)) return null;
  const found = a.shared ?? b.shared;
  if (found || a.reach === null || b.reach === null || a.reach === b.reach) return found;
  // made by different invocations: own only where no two of all of them reach one slot
  return collision(a.variable, [a, b]);
}

/**
 * Two invocations that reach one slot through `sides` (the same access, or two with the same
 * invocation-dependent subscripts), each side made by the invocations of its `reach`: the
 * subscripts evaluated in each ({@link Subscript.lanes}), jointly. Null when no two do, or when
 * some invocation-dependent subscript has no value here or varies for where it was set.
 */
function collision(
  variable: string,
  sides: readonly { readonly parts: readonly Subscript[]; readonly reach: Reach | null }[],
): Sharing | null {
  for (const { parts, reach } of sides) {
    if (reach === null || !parts.some((x) => x.tainted)) return null;
    if (parts.some((x) => x.varying || (x.tainted && x.lanes === null))) return null;
  }
  const value = (l: Lanes, i: number) => l.values.length === 1 ? l.values[0] : l.values[i];
  const slot = (parts: readonly Subscript[], i: number) =>
    parts.map((x) => x.lanes ? `[${value(x.lanes, i)}]` : x.text).join("");
  // the first invocation found at each slot (a subscript with no value: one wildcard)
  const seen = new Map<string, number>();
  const n = sides[0].reach?.length ?? 0;
  for (let i = 0; i < n; i++) {
    for (const { parts, reach } of sides) {
      if (reach?.[i] !== "1") continue;
      const tuple = parts.map((x) => x.lanes ? value(x.lanes, i) : "").join(",");
      const j = seen.get(tuple);
      if (j === undefined) seen.set(tuple, i);
      else if (j !== i) return { first: j, second: i, slot: `${variable}${slot(parts, i)}` };
    }
  }
  return null;
}

/** Whether some subscript of an access is derived from the invocation's id. */
function invocationIndexed(a: Access): boolean {
  return a.parts.some((p) => p.tainted);
}

/** A subscript's value when it is one integer literal (`[2u]`), else null. */
function literalIndex(key: string): number | null {
  const m = /^\[ (0[xX][0-9a-fA-F]+|\d+)[iu]? \]$/.exec(key);
  return m ? Number(m[1]) : null;
}

/**
 * Whether two accesses cannot touch one location: at some step, two different fields
 * (`sp.a[i]`, `sp.b`) or two different integer literals (`t[0u][i]`, `t[1u][j]`).
 */
function disjoint(a: Access, b: Access): boolean {
  const n = Math.min(a.parts.length, b.parts.length);
  for (let k = 0; k < n; k++) {
    const x = a.parts[k].key;
    const y = b.parts[k].key;
    if (x === y) continue;
    if (x.startsWith(".") && y.startsWith(".")) {
      // a swizzle (`.xy`) overlaps the components it names
      const comps = (f: string) =>
        /^\.([xyzw]{1,4}|[rgba]{1,4})$/.test(f)
          ? new Set([...f.slice(1)].map((c) => "xyzw"["rgba".indexOf(c)] ?? c))
          : null;
      const cx = comps(x);
      const cy = comps(y);
      if (!cx || !cy) return true;
      if (![...cx].some((c) => cy.has(c))) return true;
      continue;
    }
    const i = literalIndex(x);
    const j = literalIndex(y);
    if (i !== null && j !== null && i !== j) return true;
  }
  return false;
}

/**
 * Whether two accesses are taken as one invocation's own slots: the same subscripts
 * wherever either depends on the invocation, and at least one that does (`part[k][seg][r]`
 * and `part[k + 1u][seg][r]` with seg and r the invocation's: its own column of rows k and
 * k + 1), unless evaluating those subscripts found two invocations that reach one slot.
 */
function ownSlots(a: Access, b: Access): boolean {
  return sameSlots(a, b) && sharedSlot(a, b) === null;
}

/**
 * The same subscripts wherever either access's depends on the invocation, and at least one
 * that does, with no value moved since.
 */
function sameSlots(a: Access, b: Access): boolean {
  if (a.parts.length !== b.parts.length) return false;
  let owned = false;
  for (let k = 0; k < a.parts.length; k++) {
    const x = a.parts[k];
    const y = b.parts[k];
    if (!x.tainted && !y.tainted) continue;
    if (x.key !== y.key || x.moved || y.moved) return false;
    owned = true;
  }
  return owned;
}

/** What can go wrong between two unsynchronized accesses, in words. */
function race(first: AccessKind, second: AccessKind): string {
  if (first === "atomic store") {
    return second === "atomic store"
      ? "two invocations' stores may land in either order"
      : "another invocation's access may come before the store";
  }
  if (second === "atomic store") return "the store may come before another invocation's access";
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
  /** Loop and switch frames of the calls being inlined too: a callee's barrier is theirs. */
  private sinks: Frame[] = [];
  private depth = 0; // tainted conditions entered (each one's guard in `guards`)
  private loopTaint = 0; // loops with a tainted condition (or a divergent exit) entered
  private returned = false; // a return under a tainted condition has happened (this function)
  private callPath = "";
  /** ", in f() called at line N" while a call from the entry point is inlined. */
  private callNote = "";
  private returnStates: Pending[][] = [];
  /** Whether each function being inlined may return a value that depends on the invocation. */
  private returnTaint: Taint[] = [];
  /**
   * Per loop being walked, outermost first: whether this trip tainted a binding declared
   * outside it, or found it divergent (then it is walked again: the fixpoint).
   */
  private flips: { flipped: boolean; uniform: boolean }[] = [];
  /** The loops found divergent: their trips are the invocation's. */
  private readonly divergentLoops = new Set<string>();
  private readonly moduleScope: Scope = { names: new Map() };
  /** {@link at}'s answers (every access names its line: keep it cheap). */
  private readonly places: string[] = [];
  /** The entry point's invocation indices (keys: `lid`, `lv . x`) and their windows. */
  private readonly indexWindows = new Map<string, Window>();
  /** Every root some access's subscript has had (a change of another moves nothing). */
  private readonly usedRoots = new Set<string>();
  /**
   * How many invocations a workgroup has, when `@workgroup_size` gives it as constants and it
   * is at most {@link MAX_LANES}: the subscripts of builtins and constants are evaluated in each.
   */
  private invocations: number | null = null;
  /** The workgroup's dimensions, where {@link invocations} is known. */
  private dims: readonly number[] = [];
  /** {@link sharing}'s answers by the evaluated subscripts' keys and the invocations' set. */
  private readonly collisions = new Map<string, Sharing | null>();
  /**
   * Per condition entered, outermost first (those of the functions being inlined too):
   * the invocations it lets through ({@link Guard}). Every invocation-dependent one (as
   * {@link depth} counts them) is here, and the uniform `if`s and `switch`es.
   */
  private guards: Guard[] = [];
  /** Where the function being walked starts in {@link guards}. */
  private ownGuards = 0;
  /**
   * Per function being walked (the entry point, then each call inlined): the invocations
   * known to have returned from it (none at its start), or null once some that are not
   * known may have.
   */
  private exits: (Reach | null)[] = [];
  /** {@link lanes}'s answers by the range's key. */
  private readonly laneCache = new Map<string, Lanes | null>();

  constructor(
    private readonly decls: ReturnType<typeof parseModule>,
    private readonly entry: string,
    private readonly lines: string[],
    private readonly source: string,
    /** The file the source is (its included parts are named from its folder). */
    private readonly fileName?: string,
  ) {
    for (const name of decls.privateVars) {
      this.moduleScope.names.set(name, { key: `${name}@module`, tainted: false, mutable: true });
    }
  }

  /** "line N" of the file, or "part.wgsl:N" for a line of an included part. */
  private at(line: number): string {
    if (this.places.length === 0) {
      for (const o of lineOrigins(this.lines)) {
        this.places.push(
          o.part === null ? `line ${o.line}` : `${partPath(o.part, this.fileName)}:${o.line}`,
        );
      }
    }
    return this.places[line - 1] ?? `line ${line}`;
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

  /** Whether control here depends on the invocation: a value set here is the invocation's. */
  private controlTainted(): boolean {
    // (past an entry point's early return nothing rejoins; past a callee's, its caller does)
    return this.depth > 0 || this.loopTaint > 0 ||
      (this.returned && this.returnStates.length > 0);
  }

  /** Mark a binding assigned a value of taint `t` (or under a varying condition). */
  private taint(b: Binding, t: Taint): void {
    if (t === 2 && !b.tainted) b.tainted = true;
    else if (t >= 1 && !b.tainted && !b.varying) b.varying = true;
    else return;
    // a value that varies only with control, set in a loop already under such control,
    // changes no finding (its barriers are divergent already; it is no own slot)
    // the loops it was declared outside of read it at their next trip
    for (let l = b.nest ?? 0; l < this.flips.length; l++) {
      if (t === 2 || this.flips[l].uniform) this.flips[l].flipped = true;
    }
  }

  private declare(name: string, at: Token, b: Omit<Binding, "key"> & { key?: string }): void {
    this.scopes[this.scopes.length - 1].names.set(name, {
      ...b,
      key: b.key ?? `${name}@${at.line}:${at.column}${this.callPath}`,
      nest: this.flips.length,
    });
  }

  /** An identifier as an index key names it. */
  private render(t: Token): string {
    if (t.kind !== "id") return t.text;
    return this.lookup(t.text)?.key ?? t.text;
  }

  private renderKey(toks: Token[], from: number, to: number): string {
    return toks.slice(from, to).map((t) => this.render(t)).join(" ");
  }

  /** Does the identifier at toks[k] carry an invocation-dependent value? */
  private taintedAt(toks: Token[], k: number): Taint {
    const t = toks[k];
    if (t.kind !== "id" || toks[k - 1]?.text === ".") return 0;
    const b = this.lookup(t.text);
    if (!b) return 0;
    if (b.tainted) return 2;
    if (b.fields && toks[k + 1]?.text === "." && b.fields.has(toks[k + 2]?.text ?? "")) return 2;
    return b.varying ? 1 : 0;
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
      const shared = sharedSlot(b, a);
      const who = shared
        ? ` (invocations ${shared.first} and ${shared.second} both reach ${shared.slot})`
        : "";
      this.findings.set(id, {
        kind: "hazard",
        entry: this.entry,
        variable: a.variable,
        first: { line: b.line, kind: b.kind, text: b.text },
        second: { line: a.line, kind: a.kind, text: a.text },
        carried: b.carried !== null,
        message: `${b.kind} of ${b.text} (${b.where}) reaches the ${a.kind} of ${a.text} ` +
          `(${a.where})${around} with no workgroupBarrier() between${who}: ${race(b.kind, a.kind)}`,
      });
    }
    const m = p.get(a.variable) ?? new Map<string, Access>();
    m.set(accessId(a), a);
    p.set(a.variable, m);
  }

  /** A barrier (`workgroupBarrier()`, `workgroupUniformLoad`; `storageBarrier()` orders none). */
  private barrier(p: Pending | null, at: Token): void {
    p?.clear();
    for (const f of this.sinks) f.barriers.push({ at, note: this.callNote });
    if (this.depth > 0 || this.returned) {
      this.divergent(
        { at, note: this.callNote },
        this.returned && this.depth === 0
          ? "after a return that only some invocations take"
          : "under a condition that depends on the invocation",
      );
    }
  }

  private divergent(b: BarrierSite, why: string): void {
    const id = `d|${b.at.line}:${b.at.column}`;
    if (this.findings.has(id)) return;
    this.findings.set(id, {
      kind: "divergent barrier",
      entry: this.entry,
      second: { line: b.at.line, kind: "barrier", text: `${b.at.text}()` },
      message: `the barrier at ${this.at(b.at.line)}${b.note} is ${why}: every invocation of ` +
        `the workgroup must reach it`,
    });
  }

  /** The index past the postfix chain (`[..]`, `.field`) after toks[i]. */
  private chainEnd(toks: Token[], i: number): number {
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
    return j;
  }

  /** Tokens as a finding quotes them. */
  private static text(toks: Token[]): string {
    return toks.map((t, k) =>
      SPACED.has(t.text) && !(t.text === "*" && (k === 0 || toks[k - 1].text === "("))
        ? ` ${t.text} `
        : t.text
    ).join("");
  }

  /** The subscripts of a postfix chain toks[from..to): `[..]` and `.field`, keyed. */
  private subscripts(toks: Token[], from: number, to: number): Access["parts"] {
    const parts: Subscript[] = [];
    let k = from;
    while (k < to) {
      if (toks[k].text === ".") {
        const key = `.${toks[k + 1]?.text}`;
        parts.push({
          key,
          text: key,
          tainted: false,
          varying: false,
          lanes: null,
          roots: NO_ROOTS,
        });
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
      // (`[lid + t * WG]` is this invocation's whatever t is)
      const roots = this.family(toks, start + 1, k - 1) ? NO_ROOTS : this.roots(toks, start, k);
      for (const r of roots) this.usedRoots.add(r);
      const tainted = this.taintedRange(toks, start, k);
      parts.push({
        key: this.renderKey(toks, start, k),
        text: Walker.text(toks.slice(start, k)),
        tainted,
        varying: !tainted && toks.slice(start, k).some((_, j) => this.taintedAt(toks, start + j)),
        lanes: this.lanes(toks, start + 1, k - 1),
        roots,
      });
    }
    return parts;
  }

  /**
   * The roots of a range's value: the `var`s it names (a pointer's pointee), the roots of the
   * `let`s and parameters it names, and the workgroup variables it reads (`name@wg`).
   */
  private roots(toks: Token[], from: number, to: number): Set<string> {
    const out = new Set<string>();
    for (let k = from; k < to; k++) {
      const t = toks[k];
      if (t.kind !== "id" || toks[k - 1]?.text === ".") continue;
      if (this.isWorkgroupVar(t.text)) out.add(`${t.text}@wg`);
      const b = this.lookup(t.text);
      const of = b?.pointee ?? b;
      if (of?.mutable) out.add(of.key);
      for (const r of of?.roots ?? []) out.add(r);
      if (b?.wg) out.add(`${b.wg.variable}@wg`);
    }
    return out;
  }

  /**
   * Whether a range's value may differ each time it is evaluated with the same names: it
   * calls a user function, an atomic or subgroup operation, or `workgroupUniformLoad`.
   */
  private fresh(toks: Token[], from: number, to: number): boolean {
    for (let k = from; k < to; k++) {
      const name = toks[k].text;
      if (toks[k].kind !== "id" || toks[k + 1]?.text !== "(" || this.lookup(name)) continue;
      if (this.decls.functions.has(name) || /^(atomic|subgroup|workgroupUniformLoad)/.test(name)) {
        return true;
      }
    }
    return false;
  }

  /**
   * A root changed on this path: each pending access whose subscript has it no longer names
   * its slot by that subscript's key.
   */
  private moved(p: Pending, root: string): void {
    if (!this.usedRoots.has(root)) return;
    for (const [v, m] of p) {
      if (![...m.values()].some((a) => a.parts.some((x) => !x.moved && x.roots.has(root)))) {
        continue;
      }
      const into = new Map<string, Access>();
      for (const a of m.values()) {
        const parts = a.parts.map((x) => !x.moved && x.roots.has(root) ? { ...x, moved: true } : x);
        const c = parts.some((x, k) => x !== a.parts[k]) ? { ...a, parts } : a;
        into.set(accessId(c), c);
      }
      p.set(v, into);
    }
  }

  /**
   * A binding assigned (toks, its assignment's operator at `op`): unless the assignment keeps
   * a stride family within the invocation's own values, the accesses keyed by it move and
   * the family is gone (the loops it was declared outside of are walked again).
   */
  private assigned(p: Pending, b: Binding, toks: Token[], op: number): void {
    if (b.family && this.strided(toks, op, b.family)) return;
    this.moved(p, b.key);
    if (!b.family) return;
    b.family = undefined;
    for (let l = b.nest ?? 0; l < this.flips.length; l++) this.flips[l].flipped = true;
  }

  /**
   * Whether `toks` adds a stride no smaller than `w` to the variable it assigns: `i += S`,
   * `i = i + S`, `i = S + i` (S one token or a parenthesized group), `i++`, with S a module
   * constant (or literal) whose value is at least the window's, or written as the window is
   * (`WG` in `@workgroup_size(WG)`).
   */
  private strided(toks: Token[], op: number, w: Window): boolean {
    if (op !== 1) return false; // a bare name: no `*p`, no `v.x`, no `a[k]`
    const name = toks[0].text;
    const o = toks[1].text;
    if (o === "++") return w.value !== null && 1 >= w.value;
    let stride: Token[] = [];
    if (o === "+=") stride = toks.slice(2);
    else if (o === "=") {
      const rhs = toks.slice(2);
      const operand = (x: Token[]) =>
        x.length === 1 || (x[0].text === "(" && closingBracket(x, 0) === x.length - 1) ? x : [];
      if (rhs[0]?.text === name && rhs[1]?.text === "+") stride = operand(rhs.slice(2));
      else if (rhs.at(-1)?.text === name && rhs.at(-2)?.text === "+") {
        stride = operand(rhs.slice(0, -2));
      }
    }
    return this.covers(w, stride);
  }

  /**
   * Whether `stride` is a constant no smaller than the window: a literal or module constant
   * whose value is at least the window's, or written as the window is (`WG` in
   * `@workgroup_size(WG)`, an `override` too).
   */
  private covers(w: Window, stride: Token[]): boolean {
    if (stride.length === 0 || stride.some((t) => t.kind === "id" && this.lookup(t.text))) {
      return false; // a local name is no constant
    }
    if (w.text !== null && stride.map((t) => t.text).join(" ") === w.text) return true;
    const v = constInt(stride, this.decls.consts);
    return v !== null && w.value !== null && v >= w.value;
  }

  /**
   * The window of an invocation index when toks[from..to) is one, or one plus any multiple
   * of a constant covering the window (`lid + t * WG`, `WG * k + lid`): whatever the
   * multiple, its value is this invocation's and no other's. Undefined when it is neither.
   */
  private family(toks: Token[], from: number, to: number): Window | undefined {
    const whole = this.indexWindows.get(this.renderKey(toks, from, to));
    const terms = whole ? null : sumOfProducts(toks, from, to);
    if (whole || terms?.length !== 2) return whole;
    for (const [x, y] of [[terms[0], terms[1]], [terms[1], terms[0]]]) {
      const w = x.length === 1
        ? this.indexWindows.get(x[0].map((t) => this.render(t)).join(" "))
        : undefined;
      if (w && y.some((f) => this.covers(w, f))) return w;
    }
    return undefined;
  }

  /**
   * A range's value in each invocation of the workgroup ({@link laneValues}): null unless it
   * is a function of the invocation builtins (`local_invocation_index`, the components of
   * `local_invocation_id`), of `let`s, `const`s and arguments bound to such a function, and
   * of literals and module `const`s.
   */
  private lanes(toks: Token[], from: number, to: number): Lanes | null {
    if (this.invocations === null || from >= to) return null;
    // (a key names each binding by its declaration, so one key has one value: loops and
    // calls ask again)
    const key = this.renderKey(toks, from, to);
    let v = this.laneCache.get(key);
    if (v === undefined) {
      v = laneValues(toks, from, to, this.invocations, this.decls.consts, this.laneNames);
      this.laneCache.set(key, v);
    }
    return v;
  }

  /** The local names {@link lanes} knows: a binding's values, or a builtin's component's. */
  private readonly laneNames: LaneNames = (toks, k) => {
    const b = this.lookup(toks[k].text);
    if (!b) return undefined;
    if (toks[k + 1]?.text !== ".") return { value: b.lanes ?? null, next: k + 1 };
    const one = toks[k + 2]?.text ?? "";
    const two = toks[k + 3]?.text === "." ? `${one}.${toks[k + 4]?.text}` : null;
    const deep = two !== null ? b.components?.get(two) : undefined;
    if (deep) return { value: deep, next: k + 5 };
    return { value: b.components?.get(one) ?? null, next: k + 3 };
  };

  /**
   * Two invocations that reach one slot through `ref`, made by the invocations of `reach`
   * ({@link collision}, its answers kept by the evaluated subscripts and the set).
   */
  private sharing(ref: WgPointer, reach: Reach | null): Sharing | null {
    if (reach === null) return null;
    const id = `${ref.variable}|${ref.parts.map((x) => x.lanes ? x.key : "_").join("|")}|${reach}`;
    let found = this.collisions.get(id);
    if (found === undefined) {
      found = collision(ref.variable, [{ parts: ref.parts, reach }]);
      this.collisions.set(id, found);
    }
    return found;
  }

  /**
   * The invocations that make an access through `ref` ({@link reach}), where its
   * invocation-dependent subscripts are evaluated ({@link collision}); else null.
   */
  private reachOf(ref: WgPointer): Reach | null {
    const parts = ref.parts;
    if (!parts.some((x) => x.tainted)) return null;
    if (parts.some((x) => x.varying || (x.tainted && x.lanes === null))) return null;
    return this.reach();
  }

  /**
   * The invocations that reach here, or null when this cannot tell: every invocation-dependent
   * condition on the path evaluated ({@link guards}), less those known to have returned
   * ({@link exits}); null under a condition not evaluated, after a return not known, in a loop
   * whose trips depend on the invocation or a loop or switch some invocations left early.
   */
  private reach(): Reach | null {
    const n = this.invocations;
    if (n === null || this.loopTaint > 0 || this.sinks.some((f) => f.divergent)) return null;
    const sets: Reach[] = [];
    for (const g of this.guards) {
      if (g === null) return null;
      if (g !== "all") sets.push(g);
    }
    const gone: Reach[] = [];
    for (const e of this.exits) {
      if (e === null) return null;
      if (e.includes("1")) gone.push(e);
    }
    if (sets.length === 0 && gone.length === 0) return "1".repeat(n);
    let out = "";
    for (let i = 0; i < n; i++) {
      out += sets.every((g) => g[i] === "1") && !gone.some((e) => e[i] === "1") ? "1" : "0";
    }
    return out;
  }

  /**
   * The guard of a branch of a condition (`if`, the `else` when `taken` is false): "all"
   * for a uniform one, the invocations whose value is `taken` where it is evaluated
   * ({@link lanes}), else null.
   */
  private guard(toks: Token[], tainted: boolean, taken: boolean): Guard {
    if (!tainted) return "all";
    const v = this.lanes(toks, 0, toks.length);
    const n = this.invocations;
    if (v === null || v.type !== "bool" || n === null) return null;
    let out = "";
    for (let i = 0; i < n; i++) {
      out += (v.values.length === 1 ? v.values[0] : v.values[i]) !== 0 === taken ? "1" : "0";
    }
    return out;
  }

  /** Is a range of tokens derived from the invocation's id? */
  private taintedRange(toks: Token[], from: number, to: number): boolean {
    for (let k = from; k < to; k++) if (this.taintedAt(toks, k) === 2) return true;
    return false;
  }

  /**
   * A reference into workgroup memory at toks[i] (`s[..]`, or through a pointer: `*p`,
   * `(*p)[..]`, `p[..]`): what it names, the token to report, and the index past it. The
   * reads in its subscripts are recorded. Null when toks[i] starts none.
   */
  private reference(
    p: Pending,
    toks: Token[],
    i: number,
  ): { ref: WgPointer; site: Token; start: number; end: number; index: Taint } | null {
    const t = toks[i];
    if (!t || t.kind !== "id" || toks[i - 1]?.text === ".") return null;
    let base: WgPointer;
    let head = i; // the chain's subscripts start after toks[head]
    let start = i;
    if (this.isWorkgroupVar(t.text)) {
      base = { variable: t.text, parts: [], text: t.text };
    } else {
      const wg = this.lookup(t.text)?.wg;
      if (!wg) return null;
      base = wg;
      if (toks[i - 1]?.text === "*") {
        if (toks[i - 2]?.text === "(" && toks[i + 1]?.text === ")") {
          head = i + 1; // (*p)[..]
          start = i - 2;
        } else {
          head = toks.length; // *p: the whole pointee
          start = i - 1;
        }
      } else if (toks[i + 1]?.text !== "[" && toks[i + 1]?.text !== ".") {
        return null; // the pointer itself, not what it points to
      }
    }
    const end = head < toks.length ? this.chainEnd(toks, head) : i + 1;
    // reads in the index
    const index = head < toks.length ? this.expr(p, toks, head + 1, end) : 0;
    const parts = head < toks.length ? this.subscripts(toks, head + 1, end) : [];
    const written = Walker.text(toks.slice(start, end));
    return {
      ref: {
        variable: base.variable,
        parts: [...base.parts, ...parts],
        text: base.text === t.text ? written : `${written} (${base.text})`,
      },
      site: t,
      start,
      end,
      index: most(index, base.parts.some((x) => x.tainted) ? 2 : 0),
    };
  }

  private access(p: Pending, ref: WgPointer, site: Token, kind: AccessKind): void {
    const reach = this.reachOf(ref);
    this.record(p, {
      variable: ref.variable,
      kind,
      line: site.line,
      column: site.column,
      key: ref.parts.map((x) => x.key).join(" "),
      parts: ref.parts,
      text: ref.text,
      shared: this.sharing(ref, reach),
      reach,
      where: `${this.at(site.line)}${this.callNote}`,
      carried: null,
    });
    // a subscript that reads the variable may name another slot after this write
    if (kind === "write" || kind === "atomic update" || kind === "atomic store") {
      this.moved(p, `${ref.variable}@wg`);
    }
  }

  /**
   * A pointer expression toks[from..to): `&s[i]`, `&(*p)[i]`, a pointer's name, or `&x` of a
   * function or private variable. The reads in its subscripts are recorded.
   */
  private pointer(
    p: Pending,
    toks: Token[],
    from: number,
    to: number,
  ): { wg: WgPointer; site: Token } | { pointee: Binding } | null {
    while (toks[from]?.text === "(" && toks[to - 1]?.text === ")") {
      from++;
      to--;
    }
    if (to - from === 1 && toks[from].kind === "id") {
      const b = this.lookup(toks[from].text);
      if (b?.wg) return { wg: b.wg, site: toks[from] };
      if (b?.pointee) return { pointee: b.pointee };
      return null;
    }
    if (toks[from]?.text !== "&") return null;
    let k = from + 1;
    while (toks[k]?.text === "(" && toks[to - 1]?.text === ")" && toks[k + 1]?.text !== "*") {
      k++;
      to--;
    }
    // &(*p)[i], &p[i], &s[i]
    const at = toks[k]?.text === "(" && toks[k + 1]?.text === "*" ? k + 2 : k;
    const r = this.reference(p, toks, at);
    if (r && r.end === to) return { wg: r.ref, site: r.site };
    const b = toks[k]?.kind === "id" ? this.lookup(toks[k].text) : undefined;
    if (b && !b.wg && this.chainEnd(toks, k) === to) {
      this.expr(p, toks, k + 1, to);
      return { pointee: b.pointee ?? b };
    }
    return null;
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
  expr(p: Pending, toks: Token[], from = 0, to = toks.length): Taint {
    let tainted: Taint = 0;
    // where each invocation-dependent part starts (a `&&`'s left operand's taint)
    const marks: number[] = [];
    const add = (at: number, x: Taint) => {
      if (x > 0) marks.push(at);
      tainted = most(x, tainted);
    };
    let i = from;
    while (i < to) {
      const t = toks[i];
      if (t.text === "&&" || t.text === "||") {
        // the right operand is evaluated only where the left one lets it: a branch
        const { start, end } = shortCircuitOperands(toks, i, from, to);
        const cond = marks.some((at) => at >= start && at < i);
        const taken = clonePending(p);
        if (cond) this.depth++;
        if (cond) this.guards.push(null);
        add(i + 1, this.expr(taken, toks, i + 1, end));
        if (cond) this.guards.pop();
        if (cond) this.depth--;
        const joined = joinPending([p, taken]) ?? new Map();
        p.clear();
        for (const [v, m] of joined) p.set(v, m);
        i = end;
        continue;
      }
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
        if (OTHER_BARRIERS.has(name)) {
          this.barrier(null, t);
          i = end;
          continue;
        }
        const first = ranges[0];
        if (name === "workgroupUniformLoad" && first) {
          this.barrier(p, t);
          const ptr = this.pointer(p, toks, first[0], first[1]);
          if (ptr && "wg" in ptr) {
            this.access(p, ptr.wg, ptr.site, "read");
            i = end;
            continue;
          }
        }
        if ((name === "atomicLoad" || ATOMIC_UPDATES.has(name)) && first) {
          // every invocation gets its own result from an update (of any memory)
          if (name !== "atomicLoad" && name !== "atomicStore") add(i, 2);
          const ptr = this.pointer(p, toks, first[0], first[1]);
          if (ptr && "wg" in ptr) {
            for (const r of ranges.slice(1)) {
              add(r[0], this.expr(p, toks, r[0], r[1]));
            }
            this.access(
              p,
              ptr.wg,
              ptr.site,
              name === "atomicLoad"
                ? "atomic load"
                : name === "atomicStore"
                ? "atomic store"
                : "atomic update",
            );
            i = end;
            continue;
          }
        }
        const fn = this.decls.functions.get(name);
        if (fn) {
          add(i, this.call(p, fn, toks, ranges, t));
          i = end;
          continue;
        }
        if (name.startsWith("subgroup") && name !== "subgroupBroadcastFirst") add(i, 2);
        i++;
        continue;
      }
      const r = this.reference(p, toks, i);
      if (r) {
        // a value read from workgroup memory is the invocation's when its index is
        add(i, r.index);
        // (taking its address for something other than a call or a let: count it a write)
        const amp = toks[r.start - 1]?.text === "&";
        this.access(p, r.ref, r.site, amp ? "write" : "read");
        i = r.end;
        continue;
      }
      add(i, this.taintedAt(toks, i));
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
  ): Taint {
    const bound = new Map<string, Binding>();
    let anyTainted: Taint = 0;
    fn.params.forEach((param, k) => {
      const r = ranges[k];
      if (!r) return;
      const key = r[1] - r[0] === 1
        ? this.render(toks[r[0]])
        : `(${this.renderKey(toks, r[0], r[1])})`;
      const ptr = this.pointer(p, toks, r[0], r[1]);
      if (ptr) {
        bound.set(param.name, {
          key,
          tainted: false,
          nest: this.flips.length,
          ...("wg" in ptr ? { wg: ptr.wg } : ptr),
        });
        return;
      }
      const t = this.expr(p, toks, r[0], r[1]);
      anyTainted = most(anyTainted, t);
      const one = r[1] - r[0] === 1 ? this.lookup(toks[r[0]].text) : undefined;
      const roots = this.roots(toks, r[0], r[1]);
      // a call in a loop evaluates its argument anew each trip, under the same key
      if (this.fresh(toks, r[0], r[1])) {
        this.moved(p, key);
        roots.add(key);
      }
      const lanes = this.lanes(toks, r[0], r[1]);
      bound.set(param.name, {
        key,
        lanes: lanes ?? undefined,
        tainted: t === 2,
        varying: t === 1,
        mutable: one?.mutable,
        nest: this.flips.length,
        roots,
      });
    });
    const saved = {
      scopes: this.scopes,
      frames: this.frames,
      path: this.callPath,
      returned: this.returned,
      ownGuards: this.ownGuards,
    };
    this.ownGuards = this.guards.length;
    this.exits.push(this.invocations === null ? null : "0".repeat(this.invocations));
    // the callee sees only its parameters and module scope
    this.scopes = [this.moduleScope, { names: bound }];
    this.frames = [];
    this.callPath = `${saved.path}<${at.line}:${at.column}`;
    const note = this.callNote;
    if (note === "") this.callNote = `, in ${fn.name}() called at ${this.at(at.line)}`;
    this.returnStates.push([]);
    this.returnTaint.push(0);
    const out = this.block(p, fn.body);
    const returns = this.returnStates.pop() ?? [];
    const returnTainted = this.returnTaint.pop() ?? 0;
    this.scopes = saved.scopes;
    this.frames = saved.frames;
    this.callPath = saved.path;
    // the invocations that returned early wait for the others at the function's end
    this.returned = saved.returned;
    this.exits.pop();
    this.ownGuards = saved.ownGuards;
    this.callNote = note;
    const joined = joinPending([out, ...returns]) ?? new Map();
    p.clear();
    for (const [v, m] of joined) p.set(v, m);
    return most(anyTainted, returnTainted);
  }

  /** A simple statement: a declaration, an assignment or a call. */
  private simple(p: Pending, toks: Token[]): void {
    if (toks.length === 0) return;
    const head = toks[0].text;
    if (head === "let" || head === "var" || head === "const") {
      const name = toks[head === "var" && toks[1]?.text === "<" ? 4 : 1];
      // `let v: vec2<f32>= ...` tokenizes its "=" into ">="
      const eq = toks.findIndex((t) => t.text === "=" || t.text === ">=" || t.text === ">>=");
      if (!name) return;
      const ptr = eq >= 0 && head === "let" ? this.pointer(p, toks, eq + 1, toks.length) : null;
      if (ptr) {
        this.declare(name.text, name, { tainted: false, ...("wg" in ptr ? { wg: ptr.wg } : ptr) });
        return;
      }
      const tainted = eq >= 0 ? this.expr(p, toks, eq + 1) : 0;
      // `let r = lid;`, `let tx = lid.x;`: the same value, so the same key
      const path = eq >= 0 && head !== "var" && toks.length - eq - 1 <= 3 &&
        toks[eq + 1].kind === "id" &&
        (toks.length === eq + 2 ||
          (toks[eq + 2].text === "." && toks[eq + 3]?.kind === "id"));
      const from = path ? this.lookup(toks[eq + 1].text) : undefined;
      const key = from && !from.mutable && !from.wg && !from.pointee
        ? this.renderKey(toks, eq + 1, toks.length)
        : `${name.text}@${name.line}:${name.column}${this.callPath}`;
      // A declaration in a loop makes its binding anew each trip, under the same key. A let's
      // value changes only with its initializer's roots, or when that is fresh; a var may
      // have been assigned since the last trip (unless it starts a stride family again: its
      // invocation index never changes).
      // (a stride family's member, `lid + t * WG`, is the invocation's own whatever changed)
      const family = eq >= 0 ? this.family(toks, eq + 1, toks.length) : undefined;
      const fresh = !family && eq >= 0 && this.fresh(toks, eq + 1, toks.length);
      const roots = head !== "var" && eq >= 0 && !family
        ? this.roots(toks, eq + 1, toks.length)
        : NO_ROOTS;
      if (fresh || (head === "var" && !family)) this.moved(p, key);
      // a let's or const's value in each invocation, when it is one of the builtins (a var's
      // may change)
      const lanes = head !== "var" && eq >= 0 ? this.lanes(toks, eq + 1, toks.length) : null;
      const declared = toks[2]?.text === ":" ? toks[3]?.text : undefined;
      this.declare(name.text, name, {
        lanes: lanes?.type === "int" && (declared === "u32" || declared === "i32")
          ? { type: declared, values: lanes.values }
          : lanes ?? undefined,
        key,
        tainted: tainted === 2,
        varying: tainted === 1,
        mutable: head === "var",
        roots: fresh && head !== "var" ? new Set([...roots, key]) : roots,
        family: head === "var" ? family : undefined,
      });
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
    const rhsTainted = opText === "++" || opText === "--" ? 0 : this.expr(p, toks, op + 1);
    let root = 0;
    while (toks[root]?.text === "*" || toks[root]?.text === "(") root++;
    const target = toks[root];
    if (target?.text === "_") return;
    const r = this.reference(p, toks, root);
    if (r) {
      if (opText !== "=") this.access(p, r.ref, r.site, "read");
      this.access(p, r.ref, r.site, "write");
      if (opText === "=" && rhsTainted === 2) {
        // (or two invocations that make it, through subscripts that evaluate to one slot for
        // both: under an evaluated condition too)
        if (!r.ref.parts.some((x) => x.tainted)) {
          if (!this.controlTainted()) this.everyone(r.ref, r.site);
        } else {
          const shared = this.sharing(r.ref, this.reachOf(r.ref));
          if (shared) this.everyone(r.ref, r.site, shared);
        }
      }
      return;
    }
    this.expr(p, toks, root + 1, op); // indices of a local target
    const b = target ? this.lookup(target.text) : undefined;
    const into = b?.pointee && toks[root - 1]?.text === "*" ? b.pointee : b;
    if (into) this.taint(into, most(rhsTainted, this.controlTainted() ? 1 : 0));
    // what the subscripts keyed by it named, it may no longer name (`p[k] = v` writes the
    // pointee too)
    if (b?.pointee) this.assigned(p, b.pointee, toks, -1);
    else if (b) this.assigned(p, b, toks, root === 0 ? op : -1);
  }

  /**
   * Every invocation writes its own value to one slot, or two invocations (`shared`) do
   * through subscripts found to name one slot: the last write wins.
   */
  private everyone(ref: WgPointer, site: Token, shared?: Sharing): void {
    const id = `w|${site.line}:${site.column}`;
    if (this.findings.has(id)) return;
    const where = `${this.at(site.line)}${this.callNote}`;
    this.findings.set(id, {
      kind: "hazard",
      entry: this.entry,
      variable: ref.variable,
      first: { line: site.line, kind: "write", text: ref.text },
      second: { line: site.line, kind: "write", text: ref.text },
      carried: false,
      message: shared
        ? `invocations ${shared.first} and ${shared.second} both write their own value to ` +
          `${shared.slot} through ${ref.text} (${where}): ${race("write", "write")}`
        : `every invocation writes its own value to ${ref.text} (${where}), whose ` +
          `subscripts do not depend on the invocation: ${race("write", "write")}`,
    });
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

  /** A branch under a condition: invocation-dependent unless `guard` is "all". */
  private branch(p: Pending, body: Statement[], guard: Guard): Pending | null {
    const tainted = guard !== "all";
    if (tainted) this.depth++;
    this.guards.push(guard);
    try {
      return this.block(clonePending(p), body);
    } finally {
      this.guards.pop();
      if (tainted) this.depth--;
    }
  }

  private leave(kind: "break" | "continue" | "return", p: Pending, at: Token): null {
    if (kind === "return") {
      const states = this.returnStates[this.returnStates.length - 1];
      if (states) states.push(p);
      // some invocations leave (the entry point, or the function being inlined)
      const tainted = this.depth > 0 || this.loopTaint > 0;
      if (tainted) this.returned = true;
      // which ones, when every condition around it in this function is evaluated: those
      // here (in walk order, what returned in an earlier branch was never on this one's path)
      const k = this.exits.length - 1;
      const exact = this.frames.length === 0 &&
        this.guards.slice(this.ownGuards).every((g) => g !== null && g !== "all");
      if (k >= 0 && exact) {
        const here = this.reach();
        const was = this.exits[k];
        this.exits[k] = here === null || was === null
          ? null
          : [...here].map((c, i) => c === "1" || was[i] === "1" ? "1" : "0").join("");
      } else if (k >= 0 && tainted) this.exits[k] = null;
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

  private frame(isLoop: boolean): Frame {
    return {
      breaks: [],
      continues: [],
      depth: this.depth,
      divergent: false,
      isLoop,
      barriers: [],
    };
  }

  private statement(p: Pending, s: Statement): Pending | null {
    switch (s.kind) {
      case "block":
        return this.block(p, s.body);
      case "simple":
        this.simple(p, s.tokens);
        return p;
      case "if": {
        const tainted = this.expr(p, s.cond) > 0;
        const a = this.branch(p, s.then, this.guard(s.cond, tainted, true));
        const b = s.otherwise
          ? this.branch(p, s.otherwise, this.guard(s.cond, tainted, false))
          : clonePending(p);
        return joinPending([a, b]);
      }
      case "switch": {
        const tainted = this.expr(p, s.selector) > 0;
        const frame = this.frame(false);
        this.frames.push(frame);
        this.sinks.push(frame);
        // (its case values are not read: an invocation-dependent selector's clauses are not
        // evaluated)
        const outs = s.clauses.map((c) => this.branch(p, c, tainted ? null : "all"));
        this.frames.pop();
        this.sinks.pop();
        if (frame.divergent) {
          for (const b of frame.barriers) {
            this.divergent(
              b,
              `in a switch (${this.at(s.at.line)}) some invocations leave by a break ` +
                "that depends on the invocation",
            );
          }
        }
        // a continue inside a switch belongs to the loop around it
        return joinPending([...outs, ...frame.breaks]);
      }
      case "loop":
        return this.loop(p, s);
      case "return": {
        const tainted = most(this.expr(p, s.value), this.controlTainted() ? 1 : 0);
        const k = this.returnTaint.length - 1;
        if (k >= 0) this.returnTaint[k] = most(this.returnTaint[k], tainted);
        return this.leave("return", p, s.at);
      }
      case "break":
        return this.leave("break", p, s.at);
      case "continue":
        return this.leave("continue", p, s.at);
      case "breakIf": {
        const tainted = this.expr(p, s.cond) > 0;
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
      let barriers: BarrierSite[] = [];
      for (let round = 0; round < 64; round++) {
        const level = this.flips.length;
        this.flips.push({ flipped: false, uniform: this.depth === 0 && this.loopTaint === 0 });
        const frame = this.frame(true);
        const state = clonePending(head);
        const condTainted = s.cond ? this.expr(state, s.cond) > 0 : false;
        this.frames.push(frame);
        this.sinks.push(frame);
        // (its barriers are reported as the loop's, below)
        // a trip some invocations make and others do not: what it sets is theirs
        const taintedTrips = condTainted || this.divergentLoops.has(loopId);
        if (taintedTrips) this.loopTaint++;
        if (taintedTrips) this.flips[level].uniform = false;
        const body = this.block(clonePending(state), s.body);
        let cont = joinPending([body, ...frame.continues]);
        if (cont && s.continuing.length) cont = this.block(cont, s.continuing);
        if (cont && s.update) cont = this.statement(cont, s.update);
        if (taintedTrips) this.loopTaint--;
        this.frames.pop();
        this.sinks.pop();
        divergent = condTainted || frame.divergent;
        if (divergent && !this.divergentLoops.has(loopId)) {
          this.divergentLoops.add(loopId);
          this.flips[level].flipped = true;
        }
        const flipped = this.flips.pop()?.flipped ?? false;
        barriers = frame.barriers;
        // the loop ends where its condition fails, or at a break
        exit = joinPending([s.cond ? state : null, ...frame.breaks]);
        const next = joinPending([head, cont ? carry(cont, loopId, "") : null]) ?? head;
        if (pendingSize(next) === pendingSize(head) && !flipped) break;
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
      // past the loop, what its back edge carried is no longer "from an earlier trip"
      return exit ? carry(exit, null, loopId) : null;
    } finally {
      this.scopes.pop();
    }
  }

  /**
   * The entry point's invocation indices and the windows their values lie in:
   * `local_invocation_index` the workgroup's size, a component of `local_invocation_id` or
   * `global_invocation_id` (a workgroup-uniform offset from it) that dimension's.
   */
  private windows(fn: Parameters<Walker["run"]>[0]): void {
    const dims = fn.workgroupSize ?? [];
    const dim = (c: number): Window =>
      c < dims.length
        ? {
          value: constInt(dims[c], this.decls.consts),
          text: dims[c].map((t) => t.text).join(" "),
        }
        : { value: 1, text: null };
    const [x, y, z] = [dim(0), dim(1), dim(2)];
    const flat: Window = {
      value: x.value !== null && y.value !== null && z.value !== null
        ? x.value * y.value * z.value
        : null,
      text: y.value === 1 && z.value === 1 ? x.text : null,
    };
    const add = (key: string, builtin: string | null) => {
      if (builtin === "local_invocation_index") this.indexWindows.set(key, flat);
      if (builtin === "local_invocation_id" || builtin === "global_invocation_id") {
        ["x", "y", "z"].forEach((c, k) => this.indexWindows.set(`${key} . ${c}`, [x, y, z][k]));
      }
    };
    for (const param of fn.params) {
      add(param.name, param.builtin);
      const members = param.type ? this.decls.structs.get(param.type) : undefined;
      for (const m of members ?? []) add(`${param.name} . ${m.name}`, m.builtin);
    }
    const n = flat.value;
    this.invocations = n !== null && n >= 1 && n <= MAX_LANES ? n : null;
    this.dims = [x.value ?? 1, y.value ?? 1];
  }

  /**
   * The values of an invocation builtin in each invocation (`local_invocation_index`, the
   * components of `local_invocation_id`; none for the global id, whose workgroup offset is
   * not known here), keyed as {@link Walker.laneNames} looks them up: "" for the whole value,
   * "x" for a component, with a member's name before it (`lv.x`) for an input struct's.
   */
  private builtinLanes(builtin: string | null, member: string): Map<string, Lanes> {
    const out = new Map<string, Lanes>();
    const n = this.invocations;
    if (n === null || builtin === null) return out;
    const lid = Array.from({ length: n }, (_, i) => i);
    const key = (c: string) => member === "" ? c : c === "" ? member : `${member}.${c}`;
    if (builtin === "local_invocation_index") out.set(key(""), { type: "u32", values: lid });
    if (builtin === "local_invocation_id") {
      const [x, y] = this.dims;
      out.set(key("x"), { type: "u32", values: lid.map((i) => i % x) });
      out.set(key("y"), { type: "u32", values: lid.map((i) => Math.floor(i / x) % y) });
      out.set(key("z"), { type: "u32", values: lid.map((i) => Math.floor(i / (x * y))) });
    }
    return out;
  }

  run(
    fn: {
      params: { name: string; builtin: string | null; type: string | null }[];
      body: Statement[];
      workgroupSize: Token[][] | null;
    },
  ) {
    const names = new Map<string, Binding>();
    this.windows(fn);
    for (const param of fn.params) {
      // an input struct's members carry their own builtins
      const members = param.type ? this.decls.structs.get(param.type) : undefined;
      const fields = new Set(
        (members ?? []).filter((m) => m.builtin && INVOCATION_BUILTINS.has(m.builtin)).map((m) =>
          m.name
        ),
      );
      const own = this.builtinLanes(param.builtin, "");
      for (const m of members ?? []) {
        for (const [k, v] of this.builtinLanes(m.builtin, m.name)) own.set(k, v);
      }
      names.set(param.name, {
        key: param.name,
        tainted: param.builtin !== null && INVOCATION_BUILTINS.has(param.builtin),
        fields,
        lanes: own.get(""),
        components: own,
      });
    }
    this.scopes = [this.moduleScope, { names }];
    this.exits = [this.invocations === null ? null : "0".repeat(this.invocations)];
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
 * sourceLocation("a\n// @included p.wgsl from k.wgsl:1\nb", "h/k.wgsl", 3); // "h/p.wgsl:1"
 * ```
 */
export function sourceLocation(source: string, fileName: string, line: number): string {
  const o = lineOrigins(source.split("\n"))[line - 1];
  return o && o.part !== null ? `${partPath(o.part, fileName)}:${o.line}` : `${fileName}:${line}`;
}

/**
 * An included part's name as a path to open: read from its including file's folder, so named
 * with that folder (`compile h/k.wgsl` said "racepart.wgsl:4" of h/racepart.wgsl, as its
 * compile errors did before e45cdf1); a bundled kernel's parts, beside a bare file name, as
 * they are.
 */
function partPath(part: string, fileName: string | undefined): string {
  if (fileName === undefined || part.includes("/")) return part;
  return fileName.slice(0, fileName.lastIndexOf("/") + 1) + part;
}

/**
 * Each line's origin, in one pass: its own number in the file (part null), or the included
 * part it belongs to (the nearest `// @included` marker above it) and its line there.
 */
function lineOrigins(lines: readonly string[]): { part: string | null; line: number }[] {
  const out: { part: string | null; line: number }[] = [];
  let part: { name: string; from: number } | null = null;
  lines.forEach((text, i) => {
    out.push(part ? { part: part.name, line: i - part.from } : { part: null, line: i + 1 });
    const m = INCLUDED_MARKER.exec(text);
    if (m) part = { name: m[1], from: i };
  });
  return out;
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
export function workgroupHazards(
  source: string,
  options: { fileName?: string } = {},
): WorkgroupHazard[] {
  const decls = parseModule(source);
  const lines = source.split("\n");
  const out: WorkgroupHazard[] = [];
  const entries = [...decls.functions.values()].filter((f) => f.compute);
  if (entries.length === 0 && /@compute\b/.test(source.replace(/\/\/.*$/gm, ""))) {
    throw new WgslParseError("a @compute function the parser did not find", 1);
  }
  for (const fn of entries) {
    const w = new Walker(decls, fn.name, lines, source, options.fileName);
    w.run(fn);
    out.push(...w.findings.values());
  }
  return out.sort((a, b) =>
    a.second.line - b.second.line || (a.first?.line ?? 0) - (b.first?.line ?? 0)
  );
}
