// A preset value that is a file name of another extension (a Megatron config kept as
// meg.yaml, a config.JSON) was refused with 'did you mean "tiny"?', the nearest preset name.
// It now says a config path ends in .json or holds a /, that configs are read as JSON, and
// how to name a JSON file of another extension.
import assert from "node:assert/strict";
import { unknownPresets } from "../matrix/preset_names.ts";

Deno.test("unknownPresets: a file name of another extension says what a config path is", () => {
  const issues = unknownPresets({
    name: "m",
    groups: [{ axes: { preset: ["meg.yaml", "config.JSON", "deepseek-v2.5"] } }],
  });
  assert.deepEqual(issues.map((i) => i.value), ["meg.yaml", "config.JSON", "deepseek-v2.5"]);
  assert.match(
    issues[0].message,
    /it looks like a \.yaml file, but a config path ends in \.json or holds a \/, and config files are read as JSON/,
  );
  assert.doesNotMatch(issues[0].message, /did you mean/);
  assert.match(issues[1].message, /a JSON file named so is written "\.\/config\.JSON"/);
  // a version number is no extension: the nearest preset is offered
  assert.match(issues[2].message, /did you mean "deepseek-v2"\?/);
});
