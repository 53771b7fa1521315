// The maintainer tools' command lines (tools/tool_args.ts): a bad option or count is a line
// naming it, the tool's usage and exit 2, never a stack trace or a run on NaN; --help is exit
// 0. html_scale printed "NaN cases" and history_scale ran its year-long benchmark on --help;
// report_screenshot threw from Chromium on a width of "abc" and from the OS on a missing page.
// derive_tolerances and layer_input_scale (docs/tolerances.md) said "Unknown option '--help'",
// exit 2.
import assert from "node:assert/strict";
import { runTool } from "./helpers_cli.ts";

Deno.test("tools: bad counts and paths are exit 2 with the usage; --help is exit 0", async () => {
  const bad: [string, string[], RegExp][] = [
    ["html_scale.ts", ["abc"], /^cases "abc": expected a whole number, at least 1\nusage: /],
    ["html_scale.ts", ["2.5"], /^cases "2\.5": expected a whole number/],
    ["history_scale.ts", ["-3", "-2"], /^runs "-3": expected a whole number/],
    ["history_scale.ts", ["1", "2", "3"], /^3 arguments; it takes at most 2 \(runs, cases\)/],
    [
      "report_screenshot.ts",
      ["/nonexistent.html", "/tmp/x.png"],
      /^\/nonexistent\.html: no such file\nusage: /,
    ],
    [
      "report_screenshot.ts",
      ["README.md", "/tmp/x.png", "abc"],
      /^width "abc": expected a whole number/,
    ],
    ["report_screenshot.ts", ["README.md", "/tmp"], /^\/tmp: is a folder; name the PNG file/],
    ["reference_time.ts", ["--rounds"], /^Option '--rounds <value>' argument missing/],
    // a file where the folder goes: once, exit 2 (it was a failure per variant, exit 1)
    ["plan_variants.ts", ["--work", "README.md"], /^--work README\.md: cannot be made a folder/],
    // an option where its folder goes: it made a folder named --zzz in the tree
    ["kernel_variants.ts", ["--zzz"], /^--zzz: expected one folder, DIR \(not an option/],
  ];
  for (const [tool, args, want] of bad) {
    const r = await runTool(tool, args);
    assert.equal(r.code, 2, `${tool} ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, want, `${tool} ${args.join(" ")}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.equal(r.stdout, "", "nothing measured");
  }
  const helped = [
    "html_scale.ts",
    "history_scale.ts",
    "report_screenshot.ts",
    "derive_tolerances.ts",
    "layer_input_scale.ts",
    "reference_time.ts",
  ];
  for (const tool of helped) {
    const r = await runTool(tool, ["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^usage: deno run -A tools/${tool.replace(".", "\\.")} `));
  }
});
