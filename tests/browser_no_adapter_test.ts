// Chromium whose page finds no WebGPU adapter (a wrapper that turns WebGPU off): exit 3
// with one message that says what failed and Chromium's own fix, once. It carried Deno's
// fix (lavapipe, DENO_WEBGPU_BACKEND) twice, which changes nothing for Chromium.
import assert from "node:assert/strict";
import { findChromium } from "../browser/chromium.ts";
import { CHROMIUM_NO_ADAPTER_FIX, pageAdapterError } from "../browser/chromium_gpu.ts";
import { NO_ADAPTER_FIX } from "../gpu/errors.ts";
import { browserTestName, chromiumMissing, runHarness } from "./browser_helpers.ts";

Deno.test("pageAdapterError: the page's own fix and prefix are left out", () => {
  const message =
    `no WebGPU adapter: navigator.gpu.requestAdapter() returned null; ${NO_ADAPTER_FIX}`;
  assert.equal(
    pageAdapterError({ name: "NoAdapterError", message }),
    "NoAdapterError: navigator.gpu.requestAdapter() returned null",
  );
  assert.equal(pageAdapterError({ name: "TypeError", message: "x" }), "TypeError: x");
});

Deno.test({
  name: browserTestName(
    "devices --runtime chromium without WebGPU in the browser: exit 3, Chromium's fix once",
  ),
  ignore: chromiumMissing() !== null || Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const wrapper = `${dir}/chromium-no-webgpu`;
      await Deno.writeTextFile(
        wrapper,
        "#!/bin/sh\n" +
          'for a in "$@"; do shift; case "$a" in ' +
          '--enable-unsafe-webgpu|--enable-webgpu-developer-features) ;; *) set -- "$@" "$a";; ' +
          "esac; done\n" +
          `exec '${
            findChromium(undefined).path
          }' --disable-features=WebGPU,Vulkan --disable-gpu "$@"\n`,
      );
      await Deno.chmod(wrapper, 0o755);
      const r = await runHarness(["devices", "--runtime", "chromium", "--chromium", wrapper]);
      assert.equal(r.code, 3, r.stderr);
      const count = (s: string) => r.stderr.split(s).length - 1;
      assert.equal(count("no WebGPU adapter"), 1, r.stderr);
      assert.equal(count(CHROMIUM_NO_ADAPTER_FIX), 1, r.stderr);
      assert.equal(count(NO_ADAPTER_FIX), 0, r.stderr);
      assert.match(r.stderr, /has no usable WebGPU adapter: NoAdapterError: /);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
