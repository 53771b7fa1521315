// A matrix's `description` or `devices` of the wrong type was refused with zod's own words
// ("Invalid input: expected record, received array"), which name a type, not what to write.
// The refusal now says what the entry must be, with an example, as the other entries' do.
import assert from "node:assert/strict";
import { ConfigError } from "../adapter/errors.ts";
import { validateMatrix } from "../matrix/expand.ts";

function refusal(raw: Record<string, unknown>): string {
  try {
    validateMatrix({ name: "m", groups: [{ axes: { preset: "tiny" } }], ...raw }, "m.json");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail("the matrix was accepted");
}

Deno.test("validateMatrix: a description that is no string says what it must be", () => {
  const message = refusal({ description: 5 });
  assert.match(message, /description: 5 must be a string: what the matrix covers/);
  assert.doesNotMatch(message, /Invalid input|expected string/);
});

Deno.test("validateMatrix: devices written as a list or a name say what they must be", () => {
  for (const devices of [[{ removeFeatures: ["shader-f16"] }], "no-f16"]) {
    const message = refusal({ devices });
    assert.match(
      message,
      /devices: .* must be an object of device profiles by name, e\.g\. \{"no-f16": \{"removeFeatures": \["shader-f16"\]\}\}/,
    );
    assert.doesNotMatch(message, /Invalid input|expected record/);
  }
});

// An unknown key in a group's expect ("backend", a typo'd "suport") or in a device profile
// ("removeFeature") was refused as if the whole object had the wrong form; the refusal now
// names it an unknown key and lists the valid ones, as a group's or the file's unknown key does.
Deno.test("validateMatrix: an unknown key of an expect or a device profile is named as one", () => {
  const expectKey = refusal({
    groups: [{ axes: { preset: "tiny" }, expect: { support: "supported", backend: "nope" } }],
  });
  assert.match(
    expectKey,
    /groups\[0\]\.expect\.backend: "nope" unknown key; valid: support, codes \(an expect checks/,
  );
  assert.doesNotMatch(expectKey, /must be \{"support"/);
  const profileKey = refusal({ devices: { "no-f16": { removeFeature: ["shader-f16"] } } });
  assert.match(
    profileKey,
    /devices\.no-f16\.removeFeature: \["shader-f16"\] unknown key; valid: removeFeatures, limits, loopIterationBudget/,
  );
  // a wrong type still says the form
  assert.match(
    refusal({ groups: [{ axes: { preset: "tiny" }, expect: null }] }),
    /groups\[0\]\.expect: null must be \{"support": "supported" \| "unsupported" \| "invalid"/,
  );
});
