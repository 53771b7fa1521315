/**
 * kernels/workgroup_hazards.ts, the static barrier check: on small kernels written here
 * (each hazard and divergent-barrier form, and what is not one), on every specialization of
 * every bundled kernel (none may have a finding), and on planted faults in the bundled
 * kernels: each `workgroupBarrier()` removed in turn, a barrier moved under an
 * invocation-dependent condition, a loop bound and an early return that depend on the
 * invocation. Every planted fault must be reported. On lavapipe a removed barrier changes no
 * result (a small workgroup runs in lock step), so parity cannot catch these.
 */
import assert from "node:assert/strict";
import { barrierCheck, bundledKernels, sourceVariants } from "../kernels/compile_check.ts";
import { loadKernel, readKernelFile } from "../kernels/source.ts";
import { sourceLocation, workgroupHazards } from "../kernels/workgroup_hazards.ts";
import { parseModule, tokenize, WgslParseError } from "../kernels/wgsl_tokens.ts";
import {
  closingBracket,
  constInt,
  laneValues,
  shortCircuitOperands,
  sumOfProducts,
} from "../kernels/wgsl_expr.ts";

/** A one-entry-point kernel with workgroup array `s` (64 f32) and atomic `m`. */
function kernel(body: string, extra = ""): string {
  return "var<workgroup> s: array<f32, 64>;\nvar<workgroup> m: atomic<u32>;\n" + extra +
    "@compute @workgroup_size(64)\n" +
    "fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {\n" +
    body + "\n}\n";
}

function kinds(src: string): string[] {
  return workgroupHazards(src).map((h) => h.kind);
}

Deno.test("tokenize drops comments and keeps compound operators whole", () => {
  const t = tokenize("a <<= b; /* x /* nested */ y */ c >>= 2u; // d\ne");
  assert.deepEqual(t.map((x) => x.text), ["a", "<<=", "b", ";", "c", ">>=", "2u", ";", "e"]);
  assert.equal(t[t.length - 1].line, 2);
});

Deno.test("parseModule reads structs, workgroup vars and entry points", () => {
  const m = parseModule(
    "struct P { a: u32, b: f32, }\nvar<workgroup> t: array<vec4<f32>, 4>;\n" +
      "fn f(x: u32, y: array<u32, 4>) -> u32 { return x; }\n" +
      "@compute @workgroup_size(4) fn g(@builtin(local_invocation_id) l: vec3<u32>) {}",
  );
  assert.deepEqual([...m.workgroupVars], ["t"]);
  assert.deepEqual(m.functions.get("f")?.params.map((p) => p.name), ["x", "y"]);
  assert.equal(m.functions.get("f")?.compute, false);
  assert.equal(m.functions.get("g")?.params[0].builtin, "local_invocation_id");
  assert.throws(() => parseModule("fn f() { let x = (1; }"), WgslParseError);
});

Deno.test("wgsl_expr reads constants, short-circuit operands and sums of products", () => {
  const m = parseModule(
    "const LC: u32 = 32u;\nconst WG: u32 = LC * 2u;\noverride O: u32 = 8u;\nconst A = B;\n" +
      "const B = A;\n@compute @workgroup_size(WG, 2u) fn f() {}",
  );
  assert.deepEqual(m.functions.get("f")?.workgroupSize?.map((d) => d.map((t) => t.text)), [
    ["WG"],
    ["2u"],
  ]);
  const value = (e: string) => constInt(tokenize(e), m.consts);
  assert.equal(value("WG"), 64);
  assert.equal(value("u32(WG) << 1u"), 128);
  assert.equal(value("-(3 - 10) % 4 + 0x10 / 3"), 8);
  // an override, a float, a cycle, a stray token: no value
  for (const e of ["O", "1.5", "A", "WG 2", "WG +"]) assert.equal(value(e), null, e);
  const t = tokenize("f(a, b == 1u && g(c) || h, d)");
  assert.equal(closingBracket(t, 1), t.length - 1);
  assert.deepEqual(shortCircuitOperands(t, 7, 0, t.length), { start: 4, end: 12 });
  assert.deepEqual(shortCircuitOperands(t, 12, 0, t.length), { start: 4, end: 14 });
  const sum = (e: string) =>
    sumOfProducts(tokenize(e), 0, tokenize(e).length)?.map((x) =>
      x.map((f) => f.map((k) => k.text).join(" "))
    ) ?? null;
  assert.deepEqual(sum("(lid.x + (t - 1u) * WG)"), [["lid . x"], ["( t - 1u )", "WG"]]);
  assert.equal(sum("lid + t * WG - 1u"), null);
});

Deno.test("laneValues evaluates an expression in each invocation with u32/i32 semantics", () => {
  const m = parseModule("const ROWS: u32 = 4u;\nconst B = 3 * 2;\noverride O: u32 = 2u;");
  const lid = { type: "u32" as const, values: [0, 1, 2, 3, 4, 5, 6, 7] };
  const value = (e: string) => {
    const t = tokenize(e);
    const v = laneValues(
      t,
      0,
      t.length,
      8,
      m.consts,
      (toks, k) =>
        toks[k].text === "lid"
          ? { value: lid, next: k + 1 }
          : toks[k].text === "j"
          ? { value: null, next: k + 1 }
          : undefined,
    );
    return v && `${v.type} ${v.values.join(",")}`;
  };
  assert.equal(value("lid / ROWS + (lid % ROWS) * 2u"), "u32 0,2,4,6,1,3,5,7");
  // u32 wraps; i32 keeps its sign; an abstract literal takes the other operand's type
  assert.equal(value("lid - 4"), "u32 4294967292,4294967293,4294967294,4294967295,0,1,2,3");
  assert.equal(value("-(i32(lid) % 3)"), "i32 0,-1,-2,0,-1,-2,0,-1");
  assert.equal(value("(lid << 31u) >> 30u"), "u32 0,2,0,2,0,2,0,2");
  assert.equal(value("(lid ^ 1u) & 6u"), "u32 0,0,2,2,4,4,6,6");
  assert.equal(value("select(lid, B, lid > 4u)"), "u32 0,1,2,3,4,6,6,6");
  assert.equal(value("clamp(i32(lid) - 3, 0, 2)"), "i32 0,0,0,0,1,2,2,2");
  assert.equal(value("min(u32(lid >= 2u), 1u) + max(lid, 6u)"), "u32 6,6,7,7,7,7,7,8");
  assert.equal(value("B + 1"), "int 7");
  // an unknown name, an override, a float, a division by zero, a shift of 32, an index, a
  // function: no value
  for (
    const e of ["lid + j", "lid * O", "1.0", "lid / (lid - lid)", "lid << 32u", "lid[0]", "f(lid)"]
  ) {
    assert.equal(value(e), null, e);
  }
});

Deno.test("a write read by other invocations with no barrier between is a hazard", () => {
  const h = workgroupHazards(kernel("  s[lid] = 1.0;\n  let x = s[63u - lid];"));
  assert.equal(h.length, 1);
  assert.equal(h[0].variable, "s");
  assert.equal(h[0].first?.kind, "write");
  assert.equal(h[0].second.kind, "read");
  assert.match(h[0].message, /s\[lid\] \(line 5\).*s\[63u - lid\] \(line 6\)/);
  // with the barrier, none
  assert.deepEqual(
    kinds(kernel("  s[lid] = 1.0;\n  workgroupBarrier();\n  let x = s[63u - lid];")),
    [],
  );
  // workgroupUniformLoad is a barrier too
  assert.deepEqual(
    kinds(
      "var<workgroup> n: u32;\n@compute @workgroup_size(8)\n" +
        "fn main(@builtin(local_invocation_index) lid: u32) {\n" +
        "  if (lid == 0u) { n = 3u; }\n  let k = workgroupUniformLoad(&n);\n}",
    ),
    [],
  );
});

Deno.test("an invocation's own slot needs no barrier; a shared one does", () => {
  // same invocation-dependent subscript: its own slot
  assert.deepEqual(kinds(kernel("  s[lid] = 1.0;\n  s[lid] += 2.0;\n  let x = s[lid];")), []);
  // a subscript that does not depend on the invocation is everyone's
  // (two findings: the read after the write, and every invocation writing its own value)
  assert.deepEqual(kinds(kernel("  s[0] = f32(lid);\n  let x = s[0];")), ["hazard", "hazard"]);
  // derived through lets and loop variables, and other subscripts free
  const two = "var<workgroup> t: array<array<f32, 64>, 4>;\n";
  assert.deepEqual(
    kinds(kernel(
      "  let r = lid % 64u;\n  for (var k = 0u; k < 4u; k++) {\n    t[k][r] = 1.0;\n  }\n" +
        "  let y = t[2u][r];",
      two,
    )),
    [],
  );
  assert.deepEqual(
    kinds(kernel("  t[0u][lid] = 1.0;\n  let y = t[0u][(lid + 1u) % 64u];", two)),
    ["hazard"],
  );
});

Deno.test("a read, then the next trip's write, with no barrier: a hazard around the back edge", () => {
  const h = workgroupHazards(kernel(
    "  for (var i = 0u; i < 4u; i++) {\n    s[lid] = f32(i);\n    workgroupBarrier();\n" +
      "    let x = s[(lid + 1u) % 64u];\n  }",
  ));
  assert.equal(h.length, 1);
  assert.equal(h[0].first?.kind, "read");
  assert.equal(h[0].second.kind, "write");
  assert.equal(h[0].carried, true);
  assert.match(h[0].message, /around the back edge of the loop at line 5/);
  // a barrier at the end of the trip ends it
  assert.deepEqual(
    kinds(kernel(
      "  for (var i = 0u; i < 4u; i++) {\n    s[lid] = f32(i);\n    workgroupBarrier();\n" +
        "    let x = s[(lid + 1u) % 64u];\n    workgroupBarrier();\n  }",
    )),
    [],
  );
  // `loop` with `continuing` and `break if`, and `while`
  assert.deepEqual(
    kinds(kernel(
      "  var i = 0u;\n  loop {\n    s[lid] = 1.0;\n    workgroupBarrier();\n    let x = s[0];\n" +
        "    continuing {\n      i++;\n      break if i >= 4u;\n    }\n  }",
    )),
    ["hazard"],
  );
  assert.deepEqual(
    kinds(kernel(
      "  var i = 0u;\n  while (i < 4u) {\n    let x = s[0];\n    workgroupBarrier();\n" +
        "    s[lid] = 1.0;\n    i++;\n  }",
    )),
    ["hazard"],
  );
});

Deno.test("atomics: updates commute, a load needs a barrier after them", () => {
  assert.deepEqual(kinds(kernel("  atomicMax(&m, lid);\n  atomicAdd(&m, 1u);")), []);
  const h = workgroupHazards(kernel("  atomicMax(&m, lid);\n  let x = atomicLoad(&m);"));
  assert.equal(h.length, 1);
  assert.match(h[0].message, /before other invocations' updates/);
  assert.deepEqual(
    kinds(kernel("  atomicMax(&m, lid);\n  workgroupBarrier();\n  let x = atomicLoad(&m);")),
    [],
  ); // a store commutes with no update: a clear then an increment needs a barrier between
  const st = workgroupHazards(kernel("  atomicStore(&m, 0u);\n  atomicAdd(&m, 1u);"));
  assert.equal(st.length, 1);
  assert.match(st[0].message, /atomic store of m .* atomic update of m .*before the store/);
  assert.equal(
    workgroupHazards(kernel("  atomicAdd(&m, 1u);\n  atomicStore(&m, 0u);"))[0]?.message
      .match(/the store may come before/)?.[0],
    "the store may come before",
  );
  assert.deepEqual(
    kinds(kernel("  atomicStore(&m, 0u);\n  workgroupBarrier();\n  atomicAdd(&m, 1u);")),
    [],
  );
});

Deno.test("user functions are followed, with their call lines named", () => {
  const src = kernel(
    "  put(lid, 1.0);\n  let x = get(63u - lid);",
    "fn put(i: u32, v: f32) { s[i] = v; }\nfn get(i: u32) -> f32 { return s[i]; }\n",
  );
  const h = workgroupHazards(src);
  assert.equal(h.length, 1);
  assert.match(h[0].message, /in put\(\) called at line 7\).*in get\(\) called at line 8\)/);
  // the same arguments: the invocation's own slot
  assert.deepEqual(
    kinds(kernel(
      "  put(lid, 1.0);\n  let x = get(lid);",
      "fn put(i: u32, v: f32) { s[i] = v; }\nfn get(i: u32) -> f32 { return s[i]; }\n",
    )),
    [],
  );
});

Deno.test("`// @no-race: why` exempts one trip's accesses, not the next trip's", () => {
  const step = (note: string, barrier: string) =>
    kernel(
      "  for (var h = 32u; h > 0u; h >>= 1u) {\n    if (lid < h) {\n" +
        `      s[lid] += s[lid + h];${note}\n    }\n${barrier}  }`,
    );
  assert.deepEqual(kinds(step("", "    workgroupBarrier();\n")), ["hazard"]);
  assert.deepEqual(
    kinds(step(" // @no-race: below h writes, from h reads", "    workgroupBarrier();\n")),
    [],
  );
  // a reason is required
  assert.deepEqual(kinds(step(" // @no-race:", "    workgroupBarrier();\n")), ["hazard"]);
  // without the barrier ending the step, the next step reads what this one wrote
  const h = workgroupHazards(step(" // @no-race: below h writes, from h reads", ""));
  assert.ok(h.length > 0 && h.every((x) => x.carried), JSON.stringify(h));
});

Deno.test("a barrier some invocations do not reach is reported", () => {
  assert.deepEqual(kinds(kernel("  if (lid < 32u) {\n    workgroupBarrier();\n  }")), [
    "divergent barrier",
  ]);
  // through a let and a function's argument
  assert.deepEqual(
    kinds(
      kernel(
        "  let half = lid / 32u;\n  switch half {\n    case 0u: { workgroupBarrier(); }\n    default: {}\n  }",
      ),
    ),
    [
      "divergent barrier",
    ],
  );
  const loop = workgroupHazards(
    kernel("  for (var i = 0u; i < lid; i++) {\n    workgroupBarrier();\n  }"),
  );
  assert.equal(loop.length, 1);
  assert.match(loop[0].message, /in a loop whose trip count depends on the invocation \(line 5\)/);
  assert.deepEqual(
    kinds(
      kernel(
        "  for (var i = 0u; i < 4u; i++) {\n    if (lid == 3u) { break; }\n    workgroupBarrier();\n  }",
      ),
    ),
    ["divergent barrier"],
  );
  assert.match(
    workgroupHazards(kernel("  if (lid == 3u) { return; }\n  workgroupBarrier();"))[0].message,
    /after a return that only some invocations take/,
  );
  // the workgroup id is the same for every invocation: a uniform condition
  assert.deepEqual(kinds(kernel("  if (wid.x == 3u) { return; }\n  workgroupBarrier();")), []);
  // an atomic update's result is each invocation's own
  assert.deepEqual(
    kinds(kernel("  let t = atomicAdd(&m, 1u);\n  if (t == 0u) {\n    workgroupBarrier();\n  }")),
    ["divergent barrier"],
  );
});

Deno.test("accesses through a pointer to workgroup memory are the variable's", () => {
  const f = "fn put(p: ptr<workgroup, array<f32, 64>>, i: u32) {\n" +
    "  workgroupBarrier();\n  (*p)[i] = 1.0;\n  p[i + 1u] = 2.0;\n}\n";
  // the writes in put() (after its barrier) reach the caller's read (not each other: two
  // invocation-indexed writes are a staging pattern)
  const h = workgroupHazards(kernel("  put(&s, lid);\n  let x = s[63u - lid];", f));
  assert.deepEqual(h.map((x) => `${x.variable} ${x.first?.line}->${x.second.line}`), [
    "s 5->11",
    "s 6->11",
  ]);
  assert.match(
    h[0].message,
    /write of \(\*p\)\[i\] \(s\) \(line 5, in put\(\) called at line 10\)/,
  );
  // the same slot through the pointer: the invocation's own
  assert.deepEqual(
    kinds(kernel("  put(&s, lid);\n  let x = s[lid];", f.replace("  p[i + 1u] = 2.0;\n", ""))),
    [],
  );
  // a let-bound pointer, and an atomic through a parameter
  assert.deepEqual(
    kinds(kernel("  let q = &s[lid];\n  workgroupBarrier();\n  *q = 2.0;\n  let x = s[0];")),
    ["hazard"],
  );
  assert.deepEqual(
    kinds(kernel(
      "  workgroupBarrier();\n  let t = bump(&m);\n  let x = atomicLoad(&m);",
      "fn bump(c: ptr<workgroup, atomic<u32>>) -> u32 { return atomicAdd(c, 1u); }\n",
    )),
    ["hazard"],
  );
});

Deno.test("a value set under an invocation-dependent condition is the invocation's", () => {
  const barrierIf = "\n  if (x == 1u) { workgroupBarrier(); }";
  // assigned under the condition
  assert.deepEqual(kinds(kernel("  var x = 0u;\n  if (lid == 0u) { x = 1u; }" + barrierIf)), [
    "divergent barrier",
  ]);
  // assigned later in the loop than it is read (the fixpoint)
  assert.deepEqual(
    kinds(kernel(
      "  var x = 0u;\n  for (var i = 0u; i < 4u; i++) {\n    if (x == 1u) { workgroupBarrier(); }\n" +
        "    x = lid;\n  }",
    )),
    ["divergent barrier"],
  );
  // through a pointer to it, a pointer parameter, a private variable
  assert.deepEqual(
    kinds(kernel("  var x = 0u;\n  let p = &x;\n  *p = lid;" + barrierIf)),
    ["divergent barrier"],
  );
  assert.deepEqual(
    kinds(kernel(
      "  var x = 0u;\n  set(&x, lid);" + barrierIf,
      "fn set(p: ptr<function, u32>, v: u32) { *p = v; }\n",
    )),
    ["divergent barrier"],
  );
  assert.deepEqual(
    kinds(kernel("  x = lid;" + barrierIf, "var<private> x: u32;\n")),
    ["divergent barrier"],
  );
  // a function's result: an atomic's ticket, or a return under such a condition
  assert.deepEqual(
    kinds(kernel(
      "  let x = ticket();" + barrierIf,
      "fn ticket() -> u32 { return atomicAdd(&m, 1u); }\n",
    )),
    ["divergent barrier"],
  );
  // an entry point's input struct: its invocation builtins, not its workgroup_id
  const src = "var<workgroup> s: array<f32, 64>;\n" +
    "struct In { @builtin(local_invocation_index) l: u32, @builtin(workgroup_id) w: vec3<u32> }\n" +
    "@compute @workgroup_size(64)\nfn main(inp: In) {\n" +
    "  if (inp.w.x == 0u) { workgroupBarrier(); }\n  if (inp.l == 0u) { workgroupBarrier(); }\n}\n";
  assert.deepEqual(workgroupHazards(src).map((h) => `${h.kind} ${h.second.line}`), [
    "divergent barrier 6",
  ]);
  // subgroup_id differs between the workgroup's subgroups
  assert.deepEqual(
    kinds(
      "var<workgroup> s: f32;\n@compute @workgroup_size(64)\n" +
        "fn main(@builtin(subgroup_id) g: u32) {\n  if (g == 0u) { workgroupBarrier(); }\n}",
    ),
    ["divergent barrier"],
  );
  // ...but a loop counter set under such a condition is no own slot
  const own = kinds(kernel(
    "  if (lid < 4u) {\n    for (var c = 0u; c < 4u; c++) {\n      s[c] = 1.0;\n" +
      "      let y = s[c];\n    }\n  }",
  ));
  assert.ok(own.length > 0 && own.every((k) => k === "hazard"), own.join());
});

Deno.test("barriers some invocations skip inside calls, switches, and other barriers", () => {
  const sync = "fn sync() { workgroupBarrier(); }\n";
  assert.match(
    workgroupHazards(kernel("  for (var i = 0u; i < lid; i++) { sync(); }", sync))[0].message,
    /barrier at line 3, in sync\(\) called at line 6 is in a loop whose trip count/,
  );
  // a return in the callee: its later barrier is divergent, the caller's is not
  assert.deepEqual(
    kinds(kernel(
      "  g(lid);\n  workgroupBarrier();",
      "fn g(l: u32) {\n  if (l == 0u) { return; }\n  workgroupBarrier();\n}\n",
    )).length,
    1,
  );
  assert.deepEqual(
    kinds(kernel(
      "  g(lid);\n  workgroupBarrier();",
      "fn g(l: u32) {\n  if (l == 0u) { return; }\n}\n",
    )),
    [],
  );
  // a break out of a switch that depends on the invocation
  assert.deepEqual(
    kinds(kernel(
      "  switch 1u {\n    case 1u: {\n      if (lid == 0u) { break; }\n      workgroupBarrier();\n" +
        "    }\n    default: {}\n  }",
    )),
    ["divergent barrier"],
  );
  // a continue in a switch in a loop
  assert.deepEqual(
    kinds(kernel(
      "  for (var i = 0u; i < 4u; i++) {\n    switch lid { case 0u: { continue; } default: {} }\n" +
        "    workgroupBarrier();\n  }",
    )),
    ["divergent barrier"],
  );
  // storageBarrier() orders no workgroup memory but must be reached by all the same
  assert.deepEqual(kinds(kernel("  if (lid == 0u) { storageBarrier(); }")), [
    "divergent barrier",
  ]);
  assert.deepEqual(
    kinds(kernel("  s[lid] = 1.0;\n  storageBarrier();\n  let x = s[0];")),
    ["hazard"],
  );
});

Deno.test("every invocation writing its own value to one slot is a hazard", () => {
  const h = workgroupHazards(
    kernel("  n = lid;\n  let k = workgroupUniformLoad(&n);", "var<workgroup> n: u32;\n"),
  );
  assert.equal(h.length, 1);
  assert.match(h[0].message, /every invocation writes its own value to n \(line 6\)/);
  // one value for all, or under a condition on the invocation (maybe one writer): none
  assert.deepEqual(kinds(kernel("  s[0] = 1.0;\n  if (lid == 0u) { s[1] = f32(lid); }")), []);
});

Deno.test("common correct forms have no finding", () => {
  // the same slot through a let, a vec3 builtin's component, a call's argument
  assert.deepEqual(kinds(kernel("  s[lid] = 1.0;\n  let me = lid;\n  let x = s[me];")), []);
  assert.deepEqual(
    kinds(
      "var<workgroup> s: array<f32, 64>;\n@compute @workgroup_size(64)\n" +
        "fn main(@builtin(local_invocation_id) lv: vec3<u32>) {\n" +
        "  let tx = lv.x;\n  s[lv.x] = 1.0;\n  let x = s[tx];\n}",
    ),
    [],
  );
  assert.deepEqual(
    kinds(kernel(
      "  put(lid, 1.0);\n  let x = s[lid];",
      "fn put(i: u32, v: f32) { s[i] = v; }\n",
    )),
    [],
  );
  // different fields of a struct, different literal rows
  assert.deepEqual(
    kinds(kernel(
      "  sp.a[lid] = 1.0;\n  if (lid == 0u) { sp.b = 2.0; }\n  t[0u][lid] = sp.a[lid];\n" +
        "  let y = t[1u][0u];",
      "struct P { a: array<f32, 64>, b: f32 }\nvar<workgroup> sp: P;\n" +
        "var<workgroup> t: array<array<f32, 64>, 2>;\n",
    )),
    [],
  );
  // module declarations, attributes, comments inside expressions, `>=` ending a type
  assert.deepEqual(
    kinds(
      "enable f16;\ndiagnostic(off, derivative_uniformity);\nrequires pointer_composite_access;\n" +
        "alias F = f32;\nconst C: u32 = 4u;\noverride W: u32 = 64u;\nconst_assert C < 8u;\n" +
        "@must_use fn id(x: F) -> F { return x; }\n" +
        kernel(
          "  let v: vec2<f32>= vec2<f32>(s[lid] /* c */, 1.0);\n" +
            "  for (var i = 0u; i < C; i++) @diagnostic(off, derivative_uniformity) {\n" +
            "    s[lid] = id(v.x);\n  }\n  loop @diagnostic(off, derivative_uniformity) {\n" +
            "    break;\n  }",
        ),
    ),
    [],
  );
  // ...and `>=` still ends the type: its read is seen
  assert.deepEqual(
    kinds(kernel("  let v: vec2<f32>= vec2<f32>(s[0], 1.0);\n  s[lid] = 2.0;")),
    ["hazard"],
  );
});

/** Each finding as "kind first->second" (lines), "(carried)" when around a loop's back edge. */
function sites(src: string): string[] {
  return workgroupHazards(src).map((h) =>
    `${h.kind} ${h.first?.line}->${h.second.line}${h.carried ? " (carried)" : ""}`
  );
}

Deno.test("a var subscript changed between two accesses names another invocation's slot", () => {
  // docs/backends.md's example: s[j] is no longer this invocation's slot
  const moved = "  var j = lid;\n  s[j] = 1.0;\n  j = (j + 1u) % 64u;\n";
  assert.deepEqual(sites(kernel(moved + "  let y = s[j];")), ["hazard 6->8"]);
  // ...but after a barrier it may be anyone's
  assert.deepEqual(kinds(kernel(moved + "  workgroupBarrier();\n  let y = s[j];")), []);
  // changed on one path only (a condition, uniform or not)
  assert.deepEqual(
    sites(
      kernel("  var j = lid;\n  s[j] = 1.0;\n  if (wid.x == 0u) { j = 63u - j; }\n  let y = s[j];"),
    ),
    ["hazard 6->8"],
  );
  // through a pointer, in a function
  assert.deepEqual(
    sites(kernel(
      "  var j = lid;\n  s[j] = 1.0;\n  bump(&j);\n  let y = s[j];",
      "fn bump(p: ptr<function, u32>) { *p = *p + 1u; }\n",
    )),
    ["hazard 7->9"],
  );
  // a function's parameter bound to the var, the var changed between the calls
  assert.deepEqual(
    sites(kernel(
      "  var j = lid;\n  put(j);\n  j = 63u - j;\n  let y = get(j);",
      "fn put(i: u32) { s[i] = 1.0; }\nfn get(i: u32) -> f32 { return s[i]; }\n",
    )),
    ["hazard 3->4"],
  );
  // a var set anew each trip of a loop (its declaration runs again), then changed
  assert.deepEqual(
    sites(kernel(
      "  for (var t = 0u; t < 4u; t++) {\n    var x = lid * 2u;\n    let y = s[x];\n" +
        "    x = lid * 5u;\n    s[x] = 1.0;\n  }",
    )),
    ["hazard 9->7 (carried)", "hazard 7->9"],
  );
});

/** A kernel of `@workgroup_size(size)` with the given entry parameter and workgroup vars. */
function sized(size: string, param: string, body: string, vars: string): string {
  return `${vars}@compute @workgroup_size(${size})\nfn main(${param}) {\n${body}\n}\n`;
}

Deno.test("subscripts of the builtins and constants are evaluated: a slot two invocations reach is shared", () => {
  const lid = "@builtin(local_invocation_index) lid: u32";
  const lv = "@builtin(local_invocation_id) lv: vec3<u32>";
  const s = "var<workgroup> s: array<f32, 64>;\n";
  const t = "var<workgroup> t: array<array<f32, 4>, 4>;\n";
  const messages = (src: string) => workgroupHazards(src).map((h) => h.message);
  const who = (src: string) => messages(src).map((x) => /\(invocations .*?\)/.exec(x)?.[0]);
  const writeRead = (i: string) => `  s[${i}] = 1.0;\n  let y = s[${i}];`;
  // 64 invocations, 32 slots: lid and lid + 32 share one
  const [m] = messages(sized("64", lid, writeRead("lid % 32u"), s));
  assert.match(m ?? "", /^write of s\[lid % 32u\] \(line 4\) reaches the read of .* between \(/);
  assert.match(m ?? "", /\(invocations 0 and 32 both reach s\[0\]\): an invocation may read it/);
  assert.deepEqual(messages(sized("32", lid, writeRead("lid % 32u"), s)), []);
  // a component of local_invocation_id is shared by the other dimensions' invocations
  assert.deepEqual(who(sized("8, 8", lv, writeRead("lv.x"), s)), [
    "(invocations 0 and 8 both reach s[0])",
  ]);
  assert.deepEqual(messages(sized("8, 8", lv, writeRead("lv.x + 8u * lv.y"), s)), []);
  // the subscripts of an access jointly, through a let bound to the builtin's function
  const joint = (a: string, b: string) =>
    sized("16", lid, `  let seg = ${a};\n  t[seg][${b}] = 1.0;\n  let y = t[seg][${b}];`, t);
  assert.deepEqual(messages(joint("lid / 4u", "lid % 4u")), []);
  assert.deepEqual(who(joint("lid / 8u", "lid % 4u")), [
    "(invocations 0 and 4 both reach t[0][0])",
  ]);
  // two writes through a shared slot are a race; one write of each invocation's own value too
  assert.deepEqual(sites(sized("64", lid, "  s[lid % 32u] = 1.0;\n  s[lid % 32u] = 2.0;", s)), [
    "hazard 4->5",
  ]);
  assert.deepEqual(messages(sized("64", lid, "  s[lid / 2u] = f32(lid);", s)), [
    "invocations 0 and 1 both write their own value to s[0] through s[lid / 2u] (line 4): " +
    "two invocations' writes may land in either order",
  ]);
  // an argument bound to such a function is evaluated in the callee
  assert.deepEqual(
    kinds(sized("64", lid, "  f(lid / 2u);", s + "fn f(i: u32) { s[i] = 1.0; let y = s[i]; }\n")),
    ["hazard"],
  );
  // what is not evaluated stays each invocation's own: a loop variable, a stride family, an
  // override, the global id, an access under an invocation-dependent condition
  const own = [
    sized(
      "64",
      lid,
      "  for (var j = 0u; j < 4u; j++) {\n" + writeRead("(lid + j) % 32u") +
        "\n    workgroupBarrier();\n  }",
      s,
    ),
    sized(
      "64",
      lid,
      "  for (var i = lid; i < 256u; i += 64u) {\n" + writeRead("i / 4u") + "\n  }",
      s,
    ),
    sized("64", lid, writeRead("lid % O"), s + "override O: u32 = 32u;\n"),
    sized("64", "@builtin(global_invocation_id) g: vec3<u32>", writeRead("g.x % 32u"), s),
    sized("64", lid, `  if (lid < 32u) {\n${writeRead("lid % 32u")}\n  }`, s),
  ];
  for (const src of own) assert.deepEqual(messages(src), [], src);
});

Deno.test("under conditions of the builtins and constants, only the invocations that pass are counted", () => {
  const lid = "@builtin(local_invocation_index) lid: u32";
  const s = "var<workgroup> s: array<f32, 64>;\n";
  const params = "struct P { n: u32 }\n@group(0) @binding(0) var<uniform> params: P;\n";
  const who = (src: string) =>
    workgroupHazards(src).map((h) =>
      /\(invocations .*?\)|^invocations \d+ and \d+/.exec(h.message)?.[0]
    );
  const writeRead = (i: string) => `    s[${i}] = 1.0;\n    let y = s[${i}];`;
  const guarded = (cond: string, then: string, otherwise?: string) =>
    sized(
      "64",
      lid,
      `  if (${cond}) {\n${then}\n  }` +
        (otherwise === undefined ? "" : ` else {\n${otherwise}\n  }`),
      params + s,
    );
  // the 32 that pass reach 16 slots: 0 and 16 share s[0]
  assert.deepEqual(who(guarded("lid < 32u", writeRead("lid % 16u"))), [
    "(invocations 0 and 16 both reach s[0])",
  ]);
  assert.deepEqual(who(guarded("lid < 32u", "    s[lid / 2u] = f32(lid);")), [
    "invocations 0 and 1",
  ]);
  // an else takes the others; nested conditions take those that pass both
  assert.deepEqual(who(guarded("lid < 32u", "", writeRead("lid % 16u"))), [
    "(invocations 32 and 48 both reach s[0])",
  ]);
  assert.deepEqual(
    who(guarded("lid < 48u", `    if (lid >= 8u) {\n${writeRead("lid % 32u")}\n    }`)),
    ["(invocations 8 and 40 both reach s[8])"],
  );
  // an early return takes those that return away
  assert.deepEqual(
    who(sized("64", lid, `  if (lid >= 32u) {\n    return;\n  }\n${writeRead("lid % 16u")}`, s)),
    ["(invocations 0 and 16 both reach s[0])"],
  );
  // two accesses through one subscript, under different conditions: all their invocations
  assert.deepEqual(
    who(sized(
      "64",
      lid,
      "  if (lid < 32u) {\n    s[lid % 32u] = 1.0;\n  }\n" +
        "  if (lid >= 32u) {\n    let y = s[lid % 32u];\n  }",
      s,
    )),
    ["(invocations 0 and 32 both reach s[0])"],
  );
  const clean = [
    guarded("lid < 16u", writeRead("lid % 16u")),
    guarded("lid % 2u == 0u", writeRead("lid / 2u")),
    guarded("lid < 32u", writeRead("lid"), writeRead("lid - 32u")),
    guarded("lid < 32u", `    if (lid % 2u == 1u) {\n${writeRead("lid / 2u")}\n    }`),
    guarded(
      "lid >= 8u",
      `    if (lid < 40u) {\n      if (lid % 4u != 0u) {\n        return;\n      }\n    }\n` +
        `    if (lid < 40u) {\n${writeRead("lid / 4u")}\n    }`,
    ),
    sized("64", lid, `  if (lid >= 16u) {\n    return;\n  }\n${writeRead("lid % 16u")}`, s),
    // not evaluated, so taken as own as before: a uniform value in the condition, a return
    // under a uniform condition, a switch on the invocation
    guarded("lid < params.n", writeRead("lid % 16u")),
    sized(
      "64",
      lid,
      "  if (lid >= 16u) {\n    if (params.n == 0u) {\n      return;\n    }\n  }\n" +
        writeRead("lid % 16u"),
      params + s,
    ),
    sized(
      "64",
      lid,
      `  switch (lid / 16u) {\n    case 0u: {\n${writeRead("lid % 16u")}\n    }\n` +
        "    default: {}\n  }",
      s,
    ),
  ];
  for (const src of clean) assert.deepEqual(who(src), [], src);
});

Deno.test("a bundled kernel's joint own slot, made shared, is reported", async () => {
  // absorbed_tiled.wgsl: part[k][seg][lid % ROWS] with seg = lid / ROWS is injective only
  // jointly; with half as many segments two invocations write each partial
  const raw = await readKernelFile("absorbed_tiled.wgsl");
  const from = "let seg = lid / ROWS;";
  assert.ok(raw.includes(from), `the anchor "${from}" is gone`);
  const code = sourceVariants(raw.replace(from, "let seg = lid / (2u * ROWS);"), ["f32"], {
    subgroups: false,
  })[0].code;
  assert.ok(
    workgroupHazards(code).some((h) =>
      /invocations \d+ and \d+ both (write|reach) part\[k\]/.test(h.message)
    ),
  );
});

Deno.test("a stride loop keeps to its own slots only with a stride of at least the workgroup's size", () => {
  const big = "var<workgroup> b: array<f32, 256>;\n";
  const rmw = (update: string) =>
    `  for (var i = lid; i < 256u; ${update}) {\n    b[i] = b[i] * 2.0;\n  }`;
  // lid + 64 k, 64 invocations: no two invocations' values meet
  assert.deepEqual(kinds(kernel(rmw("i += 64u"), big)), []);
  assert.deepEqual(kinds(kernel(rmw("i = i + 128u"), big)), []);
  // a smaller stride reaches another invocation's slots (lid + 32 is invocation lid + 32's)
  assert.deepEqual(sites(kernel(rmw("i += 32u"), big)), [
    "hazard 7->7 (carried)",
    "hazard 7->7 (carried)",
  ]);
  assert.ok(kinds(kernel(rmw("i++"), big)).length > 0);
  // the stride as the workgroup size is written: a const (its value), or the same override
  const sized = (size: string, decl: string, update: string) =>
    kernel(rmw(update), big + decl).replace("@workgroup_size(64)", `@workgroup_size(${size})`);
  assert.deepEqual(kinds(sized("WG", "const WG: u32 = 64u;\n", "i += WG")), []);
  assert.deepEqual(kinds(sized("WG", "const WG = 32u * 2u;\n", "i += 2u * WG")), []);
  assert.deepEqual(kinds(sized("W", "override W: u32 = 64u;\n", "i += W")), []);
  assert.ok(kinds(sized("W", "override W: u32 = 64u;\n", "i += 64u")).length > 0);
  // 128 invocations (64 x 2) index by local_invocation_index: 64 is too small a stride
  assert.ok(kinds(sized("64, 2", "", "i += 64u")).length > 0);
  // the index plus any multiple of such a stride, in a subscript or a let: the same family
  const trips = (i: string) =>
    kernel(`  for (var t = 0u; t < 4u; t++) {\n    let i = ${i};\n    b[i] += 1.0;\n  }`, big);
  assert.deepEqual(kinds(trips("lid + t * 64u")), []);
  assert.deepEqual(kinds(trips("(t + 1u) * 64u + lid")), []);
  assert.ok(kinds(trips("lid + t * 32u")).length > 0);
  assert.ok(kinds(trips("lid + t * 64u - 1u")).length > 0);
  // staged by a stride loop, a barrier, then read anywhere: no finding
  assert.deepEqual(
    kinds(kernel(
      "  for (var i = lid; i < 256u; i += 64u) {\n    b[i] = 1.0;\n  }\n  workgroupBarrier();\n" +
        "  var y = 0.0;\n  for (var i = lid; i < 256u; i += 64u) {\n    y += b[(i + 1u) % 256u];\n  }",
      big,
    )),
    [],
  );
  // lets derived from the stride variable, read and written through functions (the
  // softmax pass of absorbed_tiled.wgsl)
  assert.deepEqual(
    kinds(kernel(
      "  for (var i = lid; i < 256u; i += 64u) {\n    let k = i / 4u;\n    let r = i % 4u;\n" +
        "    set(k, r, at(k, r) + 1.0);\n  }",
      big + "fn at(k: u32, r: u32) -> f32 { return b[k * 4u + r]; }\n" +
        "fn set(k: u32, r: u32, v: f32) { b[k * 4u + r] = v; }\n",
    )),
    [],
  );
});

Deno.test("a subscript evaluated anew each trip of a loop names another slot each trip", () => {
  // a let from the loop counter: trip t + 1 of invocation l reads what l + 1 wrote in trip t
  assert.deepEqual(
    sites(
      kernel(
        "  for (var t = 0u; t < 4u; t++) {\n    let i = (lid + t) % 64u;\n    s[i] += 1.0;\n  }",
      ),
    ),
    ["hazard 7->7 (carried)", "hazard 7->7 (carried)"],
  );
  // an atomic's ticket: another invocation may draw this trip's index next trip
  assert.deepEqual(
    kinds(kernel(
      "  for (var t = 0u; t < 4u; t++) {\n    let i = atomicAdd(&m, 1u) % 64u;\n    s[i] += 1.0;\n  }",
    )),
    ["hazard", "hazard"],
  );
  // a subscript read from workgroup memory that the invocation rewrote in between
  assert.deepEqual(
    sites(kernel(
      "  t[lid] = lid;\n  workgroupBarrier();\n  let a = s[t[lid]];\n  t[lid] = 63u - lid;\n" +
        "  s[t[lid]] = 1.0;",
      "var<workgroup> t: array<u32, 64>;\n",
    )),
    ["hazard 8->10"],
  );
});

Deno.test("a call in the right operand of && or || is made on some paths only", () => {
  const sync = "fn sync() -> bool { workgroupBarrier(); return true; }\n";
  // where the workgroup skips the call, no barrier separates the write from the read
  assert.deepEqual(
    sites(
      kernel("  s[lid] = 1.0;\n  if (wid.x == 0u && sync()) {}\n  let y = s[63u - lid];", sync),
    ),
    ["hazard 6->8"],
  );
  assert.deepEqual(
    kinds(
      kernel("  s[lid] = 1.0;\n  if (sync() && wid.x == 0u) {}\n  let y = s[63u - lid];", sync),
    ),
    [],
  );
  // and where the left operand depends on the invocation, its barrier is divergent
  assert.deepEqual(kinds(kernel("  let c = lid == 0u || sync();", sync)), ["divergent barrier"]);
  assert.deepEqual(kinds(kernel("  let c = wid.x == 0u || sync();", sync)), []);
});

Deno.test("sourceLocation names an included part's own line", () => {
  const src = "a\nb\n// @included part.wgsl from k.wgsl:2\nc\nd";
  assert.equal(sourceLocation(src, "k.wgsl", 2), "k.wgsl:2");
  assert.equal(sourceLocation(src, "k.wgsl", 5), "part.wgsl:2");
});

/** Every specialization of every bundled kernel: dtypes, subgroup lines, line switches. */
async function bundledVariants(): Promise<{ file: string; label: string; code: string }[]> {
  const out: { file: string; label: string; code: string }[] = [];
  for (const file of await bundledKernels()) {
    const raw = await readKernelFile(file);
    for (const v of sourceVariants(raw, ["f32", "f16"], { subgroups: true })) {
      out.push({ file, label: v.label, code: v.code });
    }
  }
  return out;
}

Deno.test("every bundled kernel's barrier discipline holds, in every specialization", async () => {
  const variants = await bundledVariants();
  let withBarriers = 0;
  for (const v of variants) {
    const m = parseModule(v.code);
    assert.ok(
      [...m.functions.values()].some((f) => f.compute),
      `${v.file} (${v.label}): no entry point parsed`,
    );
    if (/workgroupBarrier\(\)/.test(v.code)) withBarriers++;
    const h = workgroupHazards(v.code);
    assert.deepEqual(h.map((x) => `${v.file} (${v.label}): ${x.message}`), []);
  }
  // the GPU-class kernels and the split reductions (a check that found no kernel would pass)
  assert.ok(withBarriers >= 10, `${withBarriers} specializations with barriers`);
});

Deno.test("each barrier of each bundled kernel, removed, is reported", async () => {
  let planted = 0;
  for (const v of await bundledVariants()) {
    const lines = v.code.split("\n");
    lines.forEach((line, i) => {
      if (!/^\s*workgroupBarrier\(\);/.test(line)) return;
      const faulty = [...lines];
      faulty[i] = line.replace("workgroupBarrier();", "/* barrier removed */");
      const h = workgroupHazards(faulty.join("\n"));
      assert.ok(
        h.some((x) => x.kind === "hazard"),
        `${v.file} (${v.label}): the barrier at line ${i + 1} removed, nothing reported`,
      );
      planted++;
    });
  }
  assert.ok(planted >= 20, `${planted} barriers removed`);
});

Deno.test("a barrier, a loop or a return made invocation-dependent in a bundled kernel is reported", async () => {
  const fa2 = await readKernelFile("expanded_fa2.wgsl");
  const tiled = await readKernelFile("absorbed_tiled.wgsl");
  const faults: [string, string, string, string][] = [
    // the first barrier of the tile, only for the q rows' invocations
    [
      "expanded_fa2.wgsl",
      fa2,
      "      workgroupBarrier();\n      for (var dd",
      "      if (lid < BQ) { workgroupBarrier(); }\n      for (var dd",
    ],
    // the key loop's bound from the invocation
    ["expanded_fa2.wgsl", fa2, "kb < kend; kb += BK", "kb < kend + lid % 2u; kb += BK"],
    // an early return before the barriers
    [
      "absorbed_tiled.wgsl",
      tiled,
      "  var m_run = NEG_BIG;",
      "  var m_run = NEG_BIG;\n  if (lid >= WG - 1u) { return; }",
    ],
    // a break out of the tile loop by some invocations
    [
      "absorbed_tiled.wgsl",
      tiled,
      "    let nk = min(KT, end - kb);",
      "    let nk = min(KT, end - kb);\n    if (lid == 0u && kb > begin) { break; }",
    ],
  ];
  for (const [file, raw, from, to] of faults) {
    assert.ok(raw.includes(from), `${file}: the planted fault's anchor "${from}" is gone`);
    const code = sourceVariants(raw.replace(from, to), ["f32"], { subgroups: false })[0].code;
    assert.deepEqual(
      workgroupHazards(sourceVariants(raw, ["f32"], { subgroups: false })[0].code),
      [],
    );
    assert.ok(
      workgroupHazards(code).some((h) => h.kind === "divergent barrier"),
      `${file}: "${to}" not reported`,
    );
  }
});

Deno.test("two invocation-indexed writes are a staging pattern; a shared slot's writes are not", () => {
  // each invocation stores two elements of the tile, or an unrolled copy per element
  assert.deepEqual(kinds(kernel("  s[lid % 32u] = 1.0;\n  s[lid % 32u + 32u] = 2.0;")), []);
  assert.deepEqual(
    kinds(kernel("  { let i = lid; s[i] = 1.0; }\n  { let i = lid + 64u; s[i % 64u] = 2.0; }")),
    [],
  );
  // a read after them still needs the barrier
  assert.deepEqual(
    kinds(kernel("  s[lid % 32u] = 1.0;\n  s[lid % 32u + 32u] = 2.0;\n  let x = s[0];")),
    ["hazard", "hazard"],
  );
  // a slot no subscript of which depends on the invocation, written by everyone, then again
  assert.ok(kinds(kernel("  s[0] = 1.0;\n  s[0] = f32(lid);")).includes("hazard"));
});

Deno.test("the GPU-class kernels, unrolled as a gpu-class plan compiles them, have no finding", async () => {
  // V2-Lite widths (the parameters tests/browser_runtime_test.ts compiles under Tint)
  const unrolled: [string, Record<string, number>][] = [
    ["absorbed_tiled.wgsl", { WG: 128, HT: 16, QT: 1, KT: 8, RG: 1, KEY_VEC4: 144, VAL_VEC4: 128 }],
    ["expanded_fa2.wgsl", { QK_VEC4: 48, V_VEC4: 32, BQ: 64, BK: 32, WG: 128 }],
  ];
  for (const [name, params] of unrolled) {
    for (const dtype of ["f32", "f16"] as const) {
      const k = await loadKernel(name, { dtype, params, unroll: true });
      assert.doesNotMatch(k.code, /^\s*for \(.*\/\/ @unroll/m, `${name}: unrolled`);
      assert.deepEqual(workgroupHazards(k.code).map((h) => `${name} ${dtype}: ${h.message}`), []);
    }
  }
});

Deno.test("barrierCheck: a specialization it cannot read loses no other's finding", () => {
  // the f16 variant's extra line is outside the parsed subset; the f32 one has a hazard
  const raw = "var<workgroup> s: array<f32, 4>;\n@compute @workgroup_size(4)\n" +
    "fn main(@builtin(local_invocation_index) i: u32) { s[i] = 1.0; let x = s[0]; }\n" +
    "// @f16: fn g( {\n";
  for (const dtypes of [["f32", "f16"], ["f16", "f32"]] as const) {
    const r = barrierCheck("k.wgsl", raw, dtypes);
    assert.deepEqual(r.findings.map((f) => [f.location, f.labels]), [["k.wgsl:3", ["f32"]]]);
    assert.match(r.skipped ?? "", /^f16: line 4: /);
  }
});
