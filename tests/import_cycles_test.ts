// No module of the harness imports itself back through others (a value import; `import type`
// is erased). A cycle makes evaluation order decide whether a binding is there yet: report/
// verdict.ts and report/markdown.ts imported each other (summaryTotals), mended by moving the
// totals into report/totals.ts. The graph is Deno's own (`deno info --json`).
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).href;

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly { readonly code?: { readonly specifier: string } }[];
}

/** The harness's value imports reachable from `entry`: module → the modules it imports. */
async function valueImports(entry: string): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL(ROOT),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
  const edges = new Map<string, string[]>();
  for (const m of info.modules) {
    if (!m.specifier.startsWith(ROOT) || m.specifier.includes("/node_modules/")) continue;
    edges.set(
      m.specifier.slice(ROOT.length),
      (m.dependencies ?? []).flatMap((d) =>
        d.code?.specifier.startsWith(ROOT) ? [d.code.specifier.slice(ROOT.length)] : []
      ),
    );
  }
  return edges;
}

/** The strongly connected components of more than one module (Tarjan). */
function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("the cycle finder finds a planted cycle and passes a chain", () => {
  assert.deepEqual(cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
  assert.deepEqual(
    cycles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])),
    [["a", "b", "c"]],
  );
});

Deno.test("no value-import cycle among the harness's modules (main.ts, mod.ts)", async () => {
  for (const entry of ["main.ts", "mod.ts"]) {
    const edges = await valueImports(entry);
    assert.ok(edges.size > 100, `${entry}: ${edges.size} modules read`);
    assert.deepEqual(cycles(edges), [], entry);
  }
});
