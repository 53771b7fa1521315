// A matrix's `expect` entries are checked when it loads (matrix/reason_codes.ts): an entry
// that says "supported" and lists reason codes, and an "unsupported" code that is no reason
// code (a typo never matches), are exit 2 naming the entry, the nearest valid code and where
// the codes are listed. A group whose backend axis names a user backend may expect that
// backend's own codes. The list itself is held to the codes the harness's source gives.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { BUNDLED_MATRICES, loadMatrix, validateMatrix } from "../matrix/expand.ts";
import { REASON_CODES } from "../matrix/reason_codes.ts";
import { runCli } from "./helpers_cli.ts";

function matrixError(groups: unknown[]): ConfigError {
  try {
    validateMatrix({ name: "m", groups }, "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail("expected a ConfigError");
}

const axes = { preset: "tiny", dtype: "f16" };

Deno.test("an expect entry that says supported and lists reason codes is refused", () => {
  const e = matrixError([
    { axes, expect: { support: "supported", codes: ["dtype.f16-unavailable"] } },
  ]);
  assert.match(e.message, /^m\.json: invalid matrix/);
  assert.match(e.message, /groups\[0\]\.expect: .* says "supported" and lists reason codes/);
  // supported with no codes, or an empty list, is fine
  validateMatrix({ name: "m", groups: [{ axes, expect: { support: "supported" } }] }, "m");
  validateMatrix(
    { name: "m", groups: [{ axes, expect: { support: "supported", codes: [] } }] },
    "m",
  );
});

Deno.test("an unknown reason code is refused, naming the nearest code and the list", () => {
  const e = matrixError([
    { axes, expect: { support: "unsupported", codes: ["dtype.f16-unavailable"] } },
    {
      axes: { ...axes, sk: 8 },
      expect: {
        support: "unsupported",
        codes: ["dtype.f16-unavailabel", "wgsl-absorbed:limits.buffer-to-large", ""],
      },
    },
  ]);
  assert.ok(!e.message.includes("groups[0]"), "a known code is fine");
  assert.match(
    e.message,
    /groups\[1\]\.expect\.codes\[0\]: "dtype\.f16-unavailabel" is not a reason code; did you mean "dtype\.f16-unavailable"\? \(the harness's codes: adapter\/reason_codes\.ts/,
  );
  assert.match(
    e.message,
    /codes\[1\]: "wgsl-absorbed:limits\.buffer-to-large" .* did you mean "wgsl-absorbed:limits\.buffer-too-large"/,
  );
  assert.match(e.message, /codes\[2\]: "" is empty: name a reason code/);
});

Deno.test("a backend prefix must be a bundled backend's (auto:<path> adds those)", () => {
  const ok = ["wgsl-absorbed-gemm:dtype.f16-unavailable", "wgsl-absorbed:limits.buffer-too-large"];
  validateMatrix({
    name: "m",
    groups: [
      { axes, expect: { support: "unsupported", codes: ok } },
      {
        axes: { ...axes, path: "expanded" },
        expect: { support: "unsupported", codes: ["wgsl-expanded:limits.buffer-too-large"] },
      },
    ],
  }, "m");
  const e = matrixError([
    { axes, expect: { support: "unsupported", codes: ["wgsl-absorbd:dtype.f16-unavailable"] } },
  ]);
  assert.match(e.message, /prefix "wgsl-absorbd", which is no bundled backend.*"wgsl-absorbed"/);
});

Deno.test("a backend prefix no case of the group can give is refused, naming why", () => {
  // each of these ran and read "unexpectedly unsupported: dtype.f16-unavailable" for a case
  // that was refused for exactly that code: the prefix named a backend that never answered
  const f16 = (prefix: string) => ({
    support: "unsupported",
    codes: [`${prefix}:dtype.f16-unavailable`],
  });
  const e = matrixError([
    { name: "other-path", axes: { ...axes, path: "expanded" }, expect: f16("wgsl-absorbed") },
    {
      name: "both",
      axes: { ...axes, path: ["absorbed", "expanded"] },
      expect: f16("wgsl-absorbed"),
    },
    { name: "reference", axes: { ...axes, sk: 8, path: "expanded" }, expect: f16("cpu-reference") },
    { name: "axis", axes: { ...axes, backend: "wgsl-expanded" }, expect: f16("wgsl-absorbed") },
    {
      name: "axis-2",
      axes: { ...axes, sk: 9, backend: ["wgsl-absorbed", "wgsl-absorbed-gemm"] },
      expect: f16("wgsl-absorbed"),
    },
  ]);
  assert.match(
    e.message,
    /groups\[0\]\.expect\.codes\[0\]: "wgsl-absorbed:dtype\.f16-unavailable" names backend "wgsl-absorbed" of the absorbed path, which auto:expanded never tries.*leave the prefix out \("dtype\.f16-unavailable" matches/,
  );
  assert.match(e.message, /groups\[1\]\.expect\.codes\[0\]: .* auto:expanded never tries/);
  assert.match(e.message, /groups\[2\]\.expect\.codes\[0\]: .* "cpu-reference", which auto/);
  assert.match(
    e.message,
    /groups\[3\]\.expect\.codes\[0\]: .* backend axis runs cases on wgsl-expanded,/,
  );
  assert.match(e.message, /groups\[4\]\.expect\.codes\[0\]: .* runs cases on wgsl-absorbed-gemm,/);
  // the backend a group's one backend axis value names, and a path's own backends, are fine
  validateMatrix({
    name: "m",
    groups: [
      { axes: { ...axes, backend: "wgsl-expanded" }, expect: f16("wgsl-expanded") },
      { axes: { ...axes, sk: 8, path: "expanded" }, expect: f16("wgsl-expanded-gemm") },
    ],
  }, "m");
});

Deno.test("a group naming a user backend may expect its own codes, not misspelt harness ones", () => {
  // the naive example's own namespace, in a group whose backend axis names it
  validateMatrix({
    name: "m",
    groups: [{
      axes: { ...axes, backend: "naive" },
      expect: { support: "unsupported", codes: ["naive.too-big", "dtype.f16-unavailable"] },
    }],
  }, "m.json");
  const e = matrixError([
    {
      axes: { ...axes, backend: "naive" },
      expect: { support: "unsupported", codes: ["dtype.f16-unavailabe"] },
    },
    { axes: { ...axes, sk: 8 }, expect: { support: "unsupported", codes: ["naive.too-big"] } },
  ]);
  assert.match(e.message, /groups\[0\]\.expect\.codes\[0\]: "dtype\.f16-unavailabe" is not a/);
  assert.match(
    e.message,
    /groups\[1\]\.expect\.codes\[0\]: "naive\.too-big" .* accepted in a group whose backend axis names it/,
  );
});

Deno.test("every bundled matrix's expectations pass the check", async () => {
  for (const name of BUNDLED_MATRICES) await loadMatrix(name);
});

Deno.test("REASON_CODES lists exactly the codes the adapter, the backends and the runner give", async () => {
  const found = new Set<string>();
  for (const dir of ["adapter", "kernels", "runner"]) {
    for await (const f of Deno.readDir(new URL(`../${dir}/`, import.meta.url))) {
      if (!f.name.endsWith(".ts")) continue;
      const text = await Deno.readTextFile(new URL(`../${dir}/${f.name}`, import.meta.url));
      const pattern = /(?:code: |_CODE = )"([a-z]+\.[a-z0-9-]+)"/g;
      for (const m of text.matchAll(pattern)) found.add(m[1]);
    }
  }
  assert.deepEqual([...found].sort(), [...REASON_CODES]);
});

Deno.test("CLI: run with a misspelt expected code is exit 2 naming the entry", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mla_expect_codes_" });
  try {
    const path = `${dir}/m.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        name: "m",
        groups: [{ axes, expect: { support: "unsupported", codes: ["dtype.f16-unavalable"] } }],
      }),
    );
    const r = await runCli(["run", "--matrix", path, "--out", `${dir}/out`]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /m\.json: invalid matrix/);
    assert.match(
      r.stderr,
      /groups\[0\]\.expect\.codes\[0\]: "dtype\.f16-unavalable" is not a reason code; did you mean "dtype\.f16-unavailable"/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.ok(!(await exists(`${dir}/out/results.jsonl`)), "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("the adapter matrix's support expectations hold on a gpu-class and a cpu-class device, not only on the one CI runs", async () => {
  // (its forced-split case on the expanded path expected "unsupported" everywhere while an
  // H100 planned it on wgsl-expanded-tiled: run --matrix adapter on a GPU reported it)
  const { H100_CAPS, LAVAPIPE_CAPS } = await import("./caps_fixtures.ts");
  const { caseRequest, resolveCase } = await import("../runner/case_request.ts");
  const { caseSeed } = await import("../runner/run_case.ts");
  const { cases } = await loadMatrix("adapter");
  const held = cases.filter((c) =>
    c.expect !== undefined && c.expect.support !== "invalid" && c.params.mode !== "layer"
  );
  assert.ok(held.length >= 10, `${held.length} cases`);
  const wrong: string[] = [];
  for (const [device, caps] of [["h100", H100_CAPS], ["lavapipe", LAVAPIPE_CAPS]] as const) {
    for (const c of held) {
      const req = await caseRequest(c.params, {
        seed: caseSeed(c.id, c.seed),
        baseDir: new URL("../matrix/bundled", import.meta.url).pathname,
      });
      const r = resolveCase(req, c, caps, c.params.backend || undefined);
      const codes = r.kind === "plan" ? [] : r.reasons.map((x) => x.code);
      const support = r.kind === "plan" ? "supported" : "unsupported";
      const ok = support === c.expect?.support &&
        (c.expect.codes ?? []).every((want) => codes.some((code) => code.endsWith(want)));
      if (!ok) wrong.push(`${device} ${c.id}: ${support} ${codes.join(",")}`);
    }
  }
  assert.deepEqual(wrong, []);
});

// A code or backend prefix near no valid one was still given the nearest of all as "did you
// mean" ("my.code": "device.none", "foo:": some backend), which sent the user to a code that
// has nothing to do with theirs. Only a near name is suggested now; the list is named either way.
Deno.test("an unknown code or prefix near no valid one gets no 'did you mean'", () => {
  const e = matrixError([{
    axes,
    expect: {
      support: "unsupported",
      codes: ["my.code", "no_such_code", "foo:dtype.f16-unavailable"],
    },
  }]);
  assert.match(
    e.message,
    /codes\[0\]: "my\.code" is not a reason code \(the harness's codes: adapter\/reason_codes\.ts; a user backend's own codes/,
  );
  assert.match(e.message, /codes\[1\]: "no_such_code" is not a reason code \(the harness's codes/);
  assert.match(
    e.message,
    /codes\[2\]: "foo:dtype\.f16-unavailable" has the prefix "foo", .* \(bundled backends: wgsl-absorbed, /,
  );
  assert.doesNotMatch(e.message, /did you mean/);
  // a near prefix is still suggested, with the list
  assert.match(
    matrixError([{
      axes,
      expect: { support: "unsupported", codes: ["wgsl-absorbd:dtype.f16-unavailable"] },
    }]).message,
    /did you mean "wgsl-absorbed"\? bundled backends: wgsl-absorbed, /,
  );
});
