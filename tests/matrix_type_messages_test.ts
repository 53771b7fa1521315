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
    /devices\.no-f16\.removeFeature: \["shader-f16"\] unknown key; did you mean "removeFeatures"\? valid: removeFeatures, limits, loopIterationBudget/,
  );
  // a wrong type still says the form
  assert.match(
    refusal({ groups: [{ axes: { preset: "tiny" }, expect: null }] }),
    /groups\[0\]\.expect: null must be \{"support": "supported" \| "unsupported" \| "invalid"/,
  );
});

// A matrix's name or groups present but of the wrong type (a number, groups written as an
// object by name) was refused as "is required", as if the key were missing; it now says what
// the entry must be, and "is required" is kept for the missing key.
Deno.test("validateMatrix: a name or groups of the wrong type says 'must be', not 'is required'", () => {
  assert.match(refusal({ name: 5 }), /\n {2}name: 5 must be a string: a short name/);
  assert.match(
    refusal({ groups: { decode: { axes: { preset: "tiny" } } } }),
    /\n {2}groups: .* must be a list of groups, e\.g\. \[\{"name": "decode"/,
  );
  assert.doesNotMatch(refusal({ name: 5, groups: {} }), /is required/);
  assert.match(refusal({ name: undefined }), /name: \(missing\) is required: a short name/);
  assert.match(refusal({ groups: undefined }), /groups: \(missing\) is required: a list of groups/);
});

// A typo'd key ("dtpye", "Preset", "seeed", "axis", "suport") was told the list of valid keys
// with no word of which it misspells, where a typo'd preset or limit name is.
Deno.test("validateMatrix: a misspelt key suggests the key it is near", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { groups: [{ axes: { preset: "tiny", dtpye: "f16" } }] },
      /groups\[0\]\.axes\.dtpye: "f16" unknown axis; did you mean "dtype"\? valid axes: preset, /,
    ],
    [
      { groups: [{ axes: { Preset: "tiny" } }] },
      /groups\[0\]\.axes\.Preset: "tiny" unknown axis; did you mean "preset"\? valid axes: /,
    ],
    [
      { seeed: 2, groups: [{ axes: { preset: "tiny" } }] },
      /seeed: 2 unknown key; did you mean "seed"\? valid: name, description, seed, devices, groups/,
    ],
    [
      { groups: [{ axis: { preset: "tiny" } }] },
      /groups\[0\]\.axis: \{"preset":"tiny"\} unknown key; did you mean "axes"\? valid: name, axes/,
    ],
    [
      { groups: [{ axes: { preset: "tiny" }, expect: { suport: "supported" } }] },
      /groups\[0\]\.expect\.suport: "supported" unknown key; did you mean "support"\? valid: /,
    ],
  ];
  for (const [raw, message] of cases) assert.match(refusal(raw), message);
  // a key near none is not given a guess
  assert.match(
    refusal({ groups: [{ axes: { preset: "tiny", zzzzz: 1 } }] }),
    /axes\.zzzzz: 1 unknown axis; valid axes: /,
  );
});
