// The rooms (top-level folders) and what each may import, checked on every import of every
// .ts file outside tests/: the module graph as `deno info --json` resolves it (static,
// dynamic and type-only imports; a doc example's import is not an import of the module).
// The table below must equal the rooms table of docs/architecture.md, the rooms must not
// import each other in a cycle, the GPU-free subpath exports of deno.json must stay GPU-free,
// and every mod.ts only re-exports.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = decodeURIComponent(ROOT.pathname);

/** The library rooms (everything a user may import through mod.ts or a subpath). */
const LIBRARY = [
  "util",
  "adapter",
  "reference",
  "parity",
  "matrix",
  "results",
  "weights",
  "gpu",
  "kernels",
  "report",
  "drift",
  "bench",
  "runner",
] as const;

/**
 * Which rooms each room may import (its own files always). A room not in this table, or an
 * import outside its row, fails the test: add the row here and in docs/architecture.md.
 * Top-level files are rooms of their own (`main.ts`, `mod.ts`).
 */
const ROOMS: Readonly<Record<string, readonly string[]>> = {
  util: [],
  adapter: ["util"],
  reference: ["adapter", "util"],
  parity: ["adapter", "util"],
  matrix: ["adapter", "util"],
  results: ["adapter", "matrix"],
  weights: ["adapter", "util"],
  gpu: ["adapter", "util"],
  kernels: ["adapter", "reference", "gpu", "util"],
  report: ["adapter", "matrix", "results", "util"],
  drift: ["adapter", "matrix", "parity", "results", "report", "gpu", "util"],
  bench: ["adapter", "reference", "gpu", "kernels", "report", "util"],
  runner: [
    "adapter",
    "reference",
    "parity",
    "matrix",
    "results",
    "weights",
    "gpu",
    "kernels",
    "report",
    "util",
  ],
  browser: ["adapter", "reference", "parity", "gpu", "kernels", "bench", "util"],
  cli: [...LIBRARY, "browser"],
  "main.ts": ["cli", "gpu"],
  "mod.ts": [...LIBRARY],
  examples: ["adapter", "kernels"],
  tools: [...LIBRARY, "browser", "cli"],
};

/**
 * Data files (not code) a room may import by path prefix: the adapter's presets read the
 * published config.json files that the bundled matrices also use.
 */
const DATA: Readonly<Record<string, readonly string[]>> = {
  adapter: ["matrix/bundled/configs/published/"],
};

/** deno.json subpath exports that must import nothing of the GPU (nor node:sqlite). */
const GPU_FREE_EXPORTS = ["./adapter", "./reference", "./parity", "./matrix"];
const GPU_ROOMS = ["gpu", "kernels"];

/** Folders that are not rooms. */
const NOT_ROOMS = new Set(["tests", "node_modules", "out"]);

interface Dep {
  /** Resolved specifier: file:///... for our files, npm:/node: for packages. */
  to: string;
  /** Type-only (`import type`). */
  typeOnly: boolean;
}

interface Graph {
  /** Every module of the graph (file URL or package specifier) to its imports. */
  modules: Map<string, Dep[]>;
  /** Repository-relative paths of the .ts files outside tests/. */
  files: string[];
}

async function sourceFiles(dir = "", out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(new URL(dir || ".", ROOT))) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.name.startsWith(".")) continue;
    if (e.isDirectory) {
      if (dir === "" && NOT_ROOMS.has(e.name)) continue;
      await sourceFiles(rel, out);
    } else if (e.isFile && e.name.endsWith(".ts")) {
      out.push(rel);
    }
  }
  return out.sort();
}

let graphPromise: Promise<Graph> | null = null;

/** The module graph of every .ts file outside tests/ (one `deno info --json`). */
function graph(): Promise<Graph> {
  graphPromise ??= (async () => {
    const files = await sourceFiles();
    const dir = await Deno.makeTempDir({ prefix: "rooms_" });
    try {
      const entry = `${dir}/all.ts`;
      await Deno.writeTextFile(
        entry,
        files.map((f) => `import ${JSON.stringify(new URL(f, ROOT).href)};\n`).join(""),
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["info", "--json", "--config", `${ROOT_PATH}deno.json`, entry],
        cwd: ROOT_PATH,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, `deno info failed: ${new TextDecoder().decode(out.stderr)}`);
      const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
        modules: {
          specifier: string;
          dependencies?: {
            code?: { specifier: string };
            type?: { specifier: string };
          }[];
        }[];
        redirects?: Record<string, string>;
      };
      const redirect = (s: string) => info.redirects?.[s] ?? s;
      const modules = new Map<string, Dep[]>();
      for (const m of info.modules) {
        const deps: Dep[] = [];
        for (const d of m.dependencies ?? []) {
          if (d.code) deps.push({ to: redirect(d.code.specifier), typeOnly: false });
          else if (d.type) deps.push({ to: redirect(d.type.specifier), typeOnly: true });
        }
        modules.set(m.specifier, deps);
      }
      return { modules, files };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return graphPromise;
}

/** Repository-relative path of one of our files, or null for a package or another file. */
function relPath(specifier: string): string | null {
  if (!specifier.startsWith(ROOT.href)) return null;
  return decodeURIComponent(specifier.slice(ROOT.href.length));
}

/** The room of a repository path: its top folder, or the file itself at the top. */
function roomOf(path: string): string {
  const slash = path.indexOf("/");
  return slash < 0 ? path : path.slice(0, slash);
}

interface RoomEdge {
  from: string;
  to: string;
  /** One file-level import that makes the edge, for messages. */
  example: string;
}

/** Every import between two rooms (code only), with one example each. */
async function roomEdges(): Promise<{ edges: RoomEdge[]; wrong: string[] }> {
  const { modules, files } = await graph();
  const edges = new Map<string, RoomEdge>();
  const wrong: string[] = [];
  for (const file of files) {
    const from = roomOf(file);
    for (const dep of modules.get(new URL(file, ROOT).href) ?? []) {
      const target = relPath(dep.to);
      if (target === null) continue; // npm:, node:, jsr: packages
      const to = roomOf(target);
      if (to === from) continue;
      const what = `${file} imports ${target}${dep.typeOnly ? " (type only)" : ""}`;
      if (!target.endsWith(".ts")) {
        if (!(DATA[from] ?? []).some((p) => target.startsWith(p))) {
          wrong.push(`${what}: data file outside the room's DATA entries`);
        }
        continue;
      }
      if (to === "tests") {
        wrong.push(`${what}: nothing outside tests/ may import tests/`);
        continue;
      }
      const key = `${from}->${to}`;
      if (!edges.has(key)) edges.set(key, { from, to, example: what });
    }
  }
  return { edges: [...edges.values()], wrong };
}

/** A cycle in a directed graph (as a list of nodes, first = last), or null. */
function findCycle(nodes: Iterable<string>, next: (n: string) => readonly string[]) {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, "open");
    stack.push(n);
    for (const m of next(n)) {
      if (state.get(m) === "open") return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of nodes) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return null;
}

Deno.test("rooms: every folder with code outside tests/ has a row in the rooms table", async () => {
  const { files } = await graph();
  const unknown = [...new Set(files.map(roomOf))].filter((r) => !(r in ROOMS));
  assert.deepEqual(
    unknown,
    [],
    `rooms without a row: ${unknown.join(", ")}; add each to ROOMS in tests/rooms_test.ts ` +
      `and to the rooms table of docs/architecture.md, with the rooms it may import`,
  );
});

Deno.test("rooms: every import between rooms is allowed by the rooms table", async () => {
  const { edges, wrong } = await roomEdges();
  const bad = edges
    .filter((e) => e.from in ROOMS && !ROOMS[e.from].includes(e.to))
    .map((e) =>
      `${e.example}: ${e.from}/ may import only ${ROOMS[e.from].join(", ") || "nothing"}`
    );
  assert.deepEqual(
    [...bad, ...wrong],
    [],
    "imports against the rooms table (move the code to a room that may import it, or " +
      "change the table here and in docs/architecture.md if the architecture changed)",
  );
});

Deno.test("rooms: no cycle between rooms, in the table or in the imports", async () => {
  const tableCycle = findCycle(Object.keys(ROOMS), (r) => ROOMS[r] ?? []);
  assert.equal(tableCycle, null, `the rooms table has a cycle: ${tableCycle?.join(" -> ")}`);
  const { edges } = await roomEdges();
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const cycle = findCycle(next.keys(), (r) => next.get(r) ?? []);
  const example = (a: string, b: string) =>
    edges.find((e) => e.from === a && e.to === b)?.example ?? "";
  assert.equal(
    cycle,
    null,
    cycle
      ? `rooms import each other in a cycle: ${cycle.join(" -> ")}\n` +
        cycle.slice(1).map((r, i) => `  ${example(cycle[i], r)}`).join("\n")
      : "",
  );
});

Deno.test("rooms: the table equals the rooms table of docs/architecture.md", async () => {
  const md = await Deno.readTextFile(new URL("docs/architecture.md", ROOT));
  const from = md.indexOf("\n## Rooms\n");
  assert.ok(from >= 0, 'docs/architecture.md has no "## Rooms" section');
  const to = md.indexOf("\n## ", from + 1);
  const section = md.slice(from, to < 0 ? undefined : to);
  const documented = new Map<string, string[]>();
  for (const line of section.split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const names = [...cells[0].matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\/$/, ""));
    const imports = [...cells[cells.length - 1].matchAll(/`([^`]+)`/g)]
      .map((m) => m[1].replace(/\/$/, ""))
      .sort();
    for (const name of names) documented.set(name, imports);
  }
  documented.delete("tests");
  const table = Object.fromEntries(
    Object.entries(ROOMS).map(([room, to]) => [room, [...new Set(to)].sort()]),
  );
  assert.deepEqual(
    Object.fromEntries([...documented].sort(([a], [b]) => a.localeCompare(b))),
    Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b))),
    "docs/architecture.md's rooms table (first column: the room; last column: the rooms it " +
      "may import, each in backticks) must list the same rooms and imports as ROOMS here",
  );
});

Deno.test("rooms: GPU-free subpath exports import nothing of gpu/, kernels/ or node:sqlite", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    exports?: Record<string, string> | string;
  };
  const exportMap: Record<string, string> = typeof config.exports === "string"
    ? { ".": config.exports }
    : config.exports ?? {};
  assert.equal(exportMap["."], "./mod.ts", 'deno.json exports "." must be ./mod.ts');
  const { modules } = await graph();
  for (const sub of GPU_FREE_EXPORTS) {
    const target: string | undefined = exportMap[sub];
    assert.ok(target, `deno.json exports has no "${sub}" (GPU-free subpath)`);
    // Walk the graph from the subpath's module; keep the path to each module for messages.
    const start = new URL(target, ROOT).href;
    const via = new Map<string, string | null>([[start, null]]);
    const queue = [start];
    const bad: string[] = [];
    while (queue.length) {
      const m = queue.shift()!;
      const rel = relPath(m);
      const gpu = rel !== null && GPU_ROOMS.includes(roomOf(rel));
      if (gpu || m === "node:sqlite") {
        const chain: string[] = [];
        for (let x: string | null = m; x !== null; x = via.get(x) ?? null) {
          chain.unshift(relPath(x) ?? x);
        }
        bad.push(chain.join(" -> "));
        continue;
      }
      for (const d of modules.get(m) ?? []) {
        if (!via.has(d.to)) {
          via.set(d.to, m);
          queue.push(d.to);
        }
      }
    }
    assert.deepEqual(bad, [], `${sub} (${target}) must stay GPU-free`);
  }
});

/** The statements of a TypeScript file without its comments (strings kept). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

Deno.test("rooms: every mod.ts only re-exports", async () => {
  const { files } = await graph();
  const offenders: string[] = [];
  // examples/ are user modules: a backend module is named mod.ts and holds code.
  const mods = files.filter((x) =>
    x === "mod.ts" || (x.endsWith("/mod.ts") && !x.startsWith("examples/"))
  );
  for (const f of mods) {
    const body = withoutComments(await Deno.readTextFile(new URL(f, ROOT)));
    const rest = body.replace(
      /export\s+(type\s+)?(\*|\{[^}]*\})\s+from\s+"[^"]+";/g,
      "",
    ).trim();
    if (rest !== "") offenders.push(`${f}: ${rest.split("\n")[0].slice(0, 80)}`);
  }
  assert.deepEqual(offenders, [], "mod.ts files re-export only (`export ... from`)");
});
