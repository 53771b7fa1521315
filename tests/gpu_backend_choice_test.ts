// The backend choice (gpu/backend_choice.ts) on simulated machines, the CLI saying which
// backend it chose and why, and the window-system probe's runtime folder: one fixed folder
// per user, so repeated runs leave nothing behind in the temp directory.
import assert from "node:assert/strict";
import {
  type BackendProbe,
  chooseBackend,
  readsNoBackend,
  unknownBackendNames,
  vulkanDriverFolders,
} from "../gpu/backend_choice.ts";
import { denoCacheEnv } from "./helpers_cli.ts";
import { parseCaps } from "../adapter/caps_file.ts";
import { runBackend } from "../drift/device_key.ts";

const root = new URL("../", import.meta.url).pathname;

/** A machine whose files are `files` (path -> exists) and whose environment is `env`. */
function machine(env: Record<string, string>, files: string[], os = "linux"): BackendProbe {
  return {
    env: (name) => env[name],
    os,
    isFile: (p) => files.includes(p),
    jsonFiles: (dir) =>
      files.filter((f) =>
        f.startsWith(`${dir}/`) && f.endsWith(".json") && !f.includes("/", dir.length + 1)
      ),
  };
}

const LVP = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";

Deno.test("backend choice: a Vulkan driver where the loader looks picks vulkan, and says so", () => {
  const c = chooseBackend(machine({}, [LVP]));
  assert.equal(c.backend, "vulkan");
  assert.equal(c.setTo, "vulkan");
  assert.equal(c.source, "auto");
  assert.match(c.reason, /Vulkan driver found \(lvp_icd\.x86_64\.json\)/);
  assert.deepEqual(c.vulkanDrivers, [LVP]);
  // /etc and XDG_DATA_DIRS folders count too
  const etc = "/etc/vulkan/icd.d/nvidia_icd.json";
  assert.equal(chooseBackend(machine({}, [etc])).backend, "vulkan");
  const opt = "/opt/share/vulkan/icd.d/x.json";
  assert.equal(chooseBackend(machine({ XDG_DATA_DIRS: "/opt/share" }, [opt])).backend, "vulkan");
  assert.equal(chooseBackend(machine({}, [opt])).backend, "gl");
});

Deno.test("backend choice: no Vulkan driver picks gl, naming where it looked and the fix", () => {
  const c = chooseBackend(machine({}, []));
  assert.equal(c.backend, "gl");
  assert.equal(c.setTo, "gl");
  assert.match(c.reason, /no Vulkan driver found \(looked in .*\/usr\/share\/vulkan\/icd\.d/);
  assert.match(c.reason, /apt-get install mesa-vulkan-drivers/);
  // VK_ICD_FILENAMES replaces the search: a missing file hides the installed driver
  const hidden = chooseBackend(machine({ VK_ICD_FILENAMES: "/nonexistent.json" }, [LVP]));
  assert.equal(hidden.backend, "gl");
  assert.match(hidden.reason, /looked in VK_ICD_FILENAMES=\/nonexistent\.json/);
  // ... and an existing one is used (VK_DRIVER_FILES, its newer name, wins)
  assert.equal(chooseBackend(machine({ VK_ICD_FILENAMES: LVP }, [LVP])).backend, "vulkan");
  const both = machine({ VK_DRIVER_FILES: "/none.json", VK_ICD_FILENAMES: LVP }, [LVP]);
  assert.equal(chooseBackend(both).backend, "gl");
});

Deno.test("backend choice: the user's DENO_WEBGPU_BACKEND wins; other systems keep wgpu's default", () => {
  const c = chooseBackend(machine({ DENO_WEBGPU_BACKEND: "gl" }, [LVP]));
  assert.deepEqual([c.backend, c.source, c.setTo], ["gl", "env", null]);
  assert.match(c.reason, /DENO_WEBGPU_BACKEND=gl was set/);
  const mac = chooseBackend(machine({}, [], "darwin"));
  assert.deepEqual([mac.backend, mac.source, mac.setTo], ["default", "default", null]);
  assert.ok(vulkanDriverFolders(undefined).includes("/usr/local/share/vulkan/icd.d"));
  // wgpu's aliases are one backend: gles/opengl run the GL fallback, so its rules and its
  // device key are gl's (gles was recorded as "gles" and planned as another backend)
  for (
    const [value, want] of [["GLES", "gl"], ["opengl", "gl"], ["vk", "vulkan"], [
      "vk,gles",
      "vulkan,gl",
    ]]
  ) {
    const a = chooseBackend(machine({ DENO_WEBGPU_BACKEND: value }, [LVP]));
    assert.equal(a.backend, want, value);
    assert.match(a.reason, new RegExp(`DENO_WEBGPU_BACKEND=${value} was set`));
  }
});

Deno.test("a caps file's webgpuBackend: an alias read as its backend, a name wgpu does not read refused", () => {
  const raw = { adapter: {}, features: [], limits: {} };
  assert.equal(parseCaps({ ...raw, webgpuBackend: "OpenGL" }, "c.json").webgpuBackend, "gl");
  assert.equal(parseCaps({ ...raw, webgpuBackend: "default" }, "c.json").webgpuBackend, "default");
  for (const bad of ["vulcan", ",", " , "]) {
    assert.throws(
      () => parseCaps({ ...raw, webgpuBackend: bad }, "c.json"),
      /webgpuBackend: .* must name a backend wgpu reads \(vulkan, vk, gl, gles/,
      bad,
    );
  }
  // a list wgpu reads one name of (devices --json records it as given): that backend
  assert.equal(
    parseCaps({ ...raw, webgpuBackend: "vulkan,foo" }, "c.json").webgpuBackend,
    "vulkan",
  );
  assert.equal(parseCaps({ ...raw, webgpuBackend: " default" }, "c.json").webgpuBackend, "default");
  // an older devices --json's backend.name gets the same check
  assert.throws(
    () => parseCaps({ ...raw, backend: { name: "vulcan" } }, "c.json"),
    /backend\.name: "vulcan" must name a backend wgpu reads/,
  );
  assert.equal(parseCaps({ ...raw, backend: { name: "gles" } }, "c.json").webgpuBackend, "gl");
  // a fingerprint recorded under an alias keys its baselines and history as the backend's
  assert.equal(runBackend({ backend: "gles" }), "gl");
  assert.equal(runBackend({ backend: "Vulkan, GL" }), "vulkan-gl");
});

Deno.test("backend choice: a DENO_WEBGPU_BACKEND wgpu cannot read is named, and no adapter says to fix it", async () => {
  assert.deepEqual(unknownBackendNames("Vulkan, gl,VK"), []);
  assert.deepEqual(unknownBackendNames("vulcan,gl,metl"), ["vulcan", "metl"]);
  // an empty name (a trailing comma) is no name: "vulkan," asks wgpu for Vulkan
  assert.deepEqual(unknownBackendNames("vulkan,"), []);
  assert.equal(readsNoBackend("vulkan,"), false);
  assert.equal(readsNoBackend("vulcan, ,metl"), true);
  assert.equal(readsNoBackend("dx12,vulcan"), false);
  const c = chooseBackend(machine({ DENO_WEBGPU_BACKEND: "vulcan" }, [LVP]));
  assert.match(
    c.reason,
    /DENO_WEBGPU_BACKEND=vulcan was set; wgpu skips "vulcan", no backend name/,
  );
  assert.doesNotMatch(chooseBackend(machine({ DENO_WEBGPU_BACKEND: "vk" }, [])).reason, /skips/);
  // the CLI: the fix is the variable, not a driver to install
  const r = await cli(["devices"], { DENO_WEBGPU_BACKEND: "vulcan" });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /"vulcan" is not a backend name wgpu reads \(it reads vulkan or vk, gl/);
  assert.match(
    r.stderr,
    /unset DENO_WEBGPU_BACKEND to let the harness choose, or set it to vulkan or gl/,
  );
  assert.doesNotMatch(r.stderr, /apt-get install/, "no driver is missing");
  // a backend wgpu reads that this machine has no adapter on: the variable is what to change
  // ("the harness then picks Vulkan by itself" is false while it stays set)
  const dx = await cli(["devices"], { DENO_WEBGPU_BACKEND: "dx12" });
  assert.equal(dx.code, 3, dx.stderr);
  assert.match(dx.stderr, /DENO_WEBGPU_BACKEND=dx12 gives no adapter on this machine: unset it/);
  assert.doesNotMatch(dx.stderr, /then picks Vulkan by itself/);
  // explain too: its "device none" reason cannot know the cause, so a note says it (it said
  // only to install a driver)
  const ex = await cli(["explain", "tiny"], { DENO_WEBGPU_BACKEND: "vulcan" });
  assert.equal(ex.code, 3, ex.stderr);
  assert.match(ex.stderr, /^note: no WebGPU adapter: .*"vulcan" is not a backend name wgpu reads/m);
  // and the reason itself points to `devices`, not to a variable to set (the harness picks
  // vulkan by itself when the driver is there)
  assert.match(ex.stdout, /device\.none: no WebGPU adapter is available \(`devices` says/);
  assert.doesNotMatch(ex.stdout, /set DENO_WEBGPU_BACKEND=vulkan/);
  // a name wgpu reads beside the typo: wgpu was asked for that backend, and its driver is what
  // is missing (dx12 has none on Linux)
  const mixed = await cli(["devices"], { DENO_WEBGPU_BACKEND: "dx12,vulcan" });
  assert.equal(mixed.code, 3, mixed.stderr);
  assert.match(mixed.stderr, /wgpu skips "vulcan", no backend name/);
  assert.doesNotMatch(mixed.stderr, /unset DENO_WEBGPU_BACKEND to let the harness choose/);
  assert.match(mixed.stderr, /install Mesa lavapipe/);
});

/**
 * Runs `main.ts <args>` with exactly `env` (plus PATH, HOME and where Deno's cache is: an
 * offline machine's prepared DENO_DIR).
 */
async function cli(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}main.ts`, ...args],
    cwd: root,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: "/",
      ...denoCacheEnv(),
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("devices names the backend it chose and why (driver hidden: gl)", async () => {
  const r = await cli(["devices"], { VK_ICD_FILENAMES: "/nonexistent.json" });
  // exit 0 with an adapter, 3 without one: either way the choice is stated
  const text = r.stdout + r.stderr;
  assert.ok(r.code === 0 || r.code === 3, text);
  assert.match(
    text,
    /backend: gl \(chosen by the harness: no Vulkan driver found \(looked in VK_ICD_FILENAMES=\/nonexistent\.json\)/,
  );
});

Deno.test("the window-system probe reuses one folder per user in the temp directory", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "mla_xdg_test_" });
  try {
    for (let i = 0; i < 2; i++) {
      const r = await cli(["devices"], { TMPDIR: tmp, VK_ICD_FILENAMES: "/nonexistent.json" });
      assert.ok(r.code === 0 || r.code === 3, r.stdout + r.stderr);
    }
    const names = [];
    for await (const e of Deno.readDir(tmp)) names.push(e.name);
    assert.deepEqual(names, [`mla-harness-xdg-${Deno.uid()}`]);
    const st = await Deno.stat(`${tmp}/${names[0]}`);
    assert.equal(st.mode! & 0o777, 0o700);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

const HIDDEN = { VK_ICD_FILENAMES: "/nonexistent.json" };
/** Whether hiding the Vulkan driver leaves an adapter (wgpu's GL fallback on llvmpipe). */
const GL_FALLBACK_PRESENT = (await cli(["devices", "--json"], HIDDEN)).code === 0;

Deno.test({
  name: "explain on the GL fallback probes the wgpu backend and refuses model sizes, as run does",
  // Without an adapter under GL there is no GL device to plan for.
  ignore: !GL_FALLBACK_PRESENT,
  async fn() {
    // probeCaps records webgpuBackend "gl"; without it explain would print a plan that run
    // refuses (adapter/slow_device.ts), and the tiled kernels would not be capped.
    const big = await cli(["explain", "deepseek-v2-lite", "--backend", "wgsl-absorbed"], HIDDEN);
    assert.equal(big.code, 3, big.stdout + big.stderr);
    assert.match(big.stdout, /device\.too-slow: kv_lora_rank 512 x 16 heads = 8192 is above 1024/);
    const tiled = await cli(["explain", "tiny", "--backend", "wgsl-absorbed-tiled"], HIDDEN);
    assert.equal(tiled.code, 0, tiled.stdout + tiled.stderr);
    assert.match(tiled.stdout, /key tiles: 8 keys .*at most 1024 workgroup-memory elements/);
  },
});
