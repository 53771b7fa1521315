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
