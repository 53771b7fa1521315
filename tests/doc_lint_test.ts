// The published API is documented: `deno doc --lint` passes on every entry point of deno.json's
// `exports` (what JSR would publish), each linted on its own, since a type one entry point
// re-exports does not make it public through another. Two kinds of error it finds: an exported
// symbol (a class constructor too) without JSDoc, and a public symbol whose signature references
// a type that its entry point does not export (re-export the type from that entry's mod.ts, or
// keep a third-party type such as zod's out of the public signature).
import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** deno.json's exports, subpath to module path (e.g. "./adapter" -> "./adapter/mod.ts"). */
async function entryPoints(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    exports?: Record<string, string> | string;
  };
  return typeof config.exports === "string" ? { ".": config.exports } : config.exports ?? {};
}

/**
 * The errors of one `deno doc --lint` output, one line each: the error's own line and where it
 * points (`error[missing-jsdoc]: ... at drift/errors.ts:28:3`).
 */
function docLintErrors(output: string): string[] {
  const lines = output.split("\n");
  const found: string[] = [];
  lines.forEach((line, i) => {
    const m = /^error\[([\w-]+)\]: (.*)$/.exec(line);
    if (!m) return;
    const at = lines.slice(i + 1, i + 4).map((l) => /-->\s*(\S+)/.exec(l)?.[1])
      .find((x) => x !== undefined);
    found.push(`error[${m[1]}]: ${m[2]}${at ? ` at ${at.replace(ROOT, "")}` : ""}`);
  });
  return found;
}

/** `deno doc --lint` of one module: its exit status and its errors. */
async function docLint(
  module: string,
): Promise<{ code: number; errors: string[]; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", module],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, errors: docLintErrors(output), output };
}

Deno.test("doc lint: every entry point of deno.json's exports passes deno doc --lint", async () => {
  const exports = await entryPoints();
  assert.equal(exports["."], "./mod.ts", 'deno.json exports "." must be ./mod.ts');
  const results = await Promise.all(
    Object.entries(exports).map(async ([subpath, module]) => ({
      subpath,
      module,
      ...(await docLint(module)),
    })),
  );
  const failures = results.filter((r) => r.code !== 0 || r.errors.length > 0).map((r) =>
    `${r.subpath} (${r.module}): ` +
    (r.errors.length
      ? `${r.errors.length} error(s)\n${r.errors.map((e) => `  ${e}`).join("\n")}`
      : `deno doc --lint exited ${r.code}\n${r.output.trim()}`)
  );
  assert.deepEqual(
    failures,
    [],
    `deno doc --lint fails on published entry points (add the JSDoc; re-export a referenced ` +
      `type from the entry point's mod.ts where its room may import it):\n${failures.join("\n")}`,
  );
});

Deno.test("doc lint: the error lines name the rule, the symbol and the place", () => {
  const output = [
    "error[missing-jsdoc]: exported symbol is missing JSDoc documentation",
    `  --> ${ROOT}drift/errors.ts:28:3`,
    "   |",
    "error[private-type-ref]: public type 'unknownBackends' references private type 'ConfigIssue'",
    `   --> ${ROOT}matrix/expand.ts:129:1`,
    "error: Found 2 documentation lint errors.",
  ].join("\n");
  assert.deepEqual(docLintErrors(output), [
    "error[missing-jsdoc]: exported symbol is missing JSDoc documentation at drift/errors.ts:28:3",
    "error[private-type-ref]: public type 'unknownBackends' references private type " +
    "'ConfigIssue' at matrix/expand.ts:129:1",
  ]);
});
