// The Chromium runtime's parts that need no browser: finding it (flag, CHROME_PATH, Debian
// default, none with the install command), the case bytes between Deno and the page (bit
// for bit), the CDP client over a scripted transport, the bundle's text source, and the
// device key of a browser run (Deno's keys unchanged).
import assert from "node:assert/strict";
import {
  CHROMIUM_INSTALL_COMMAND,
  ChromiumLaunchError,
  ChromiumNotFoundError,
  DEBIAN_CHROMIUM_PATH,
  findChromium,
  launchChromium,
} from "../browser/chromium.ts";
import { CdpConnection, CdpError, type CdpTransport, pipeTransport } from "../browser/cdp.ts";
import {
  attentionInputsOf,
  decodeCaseRequest,
  decodeOutputs,
  encodeCaseRequest,
  encodeOutputs,
} from "../browser/wire.ts";
import { bundledTextSource } from "../gpu/text_source.ts";
import { bareImports, pageMessageLine } from "../browser/chromium_gpu.ts";
import { PageServer } from "../browser/server.ts";
import { waitForPageScript } from "../browser/chromium_gpu.ts";
import { deviceKey } from "../drift/device_key.ts";

const probe = (env: Record<string, string>, files: string[]) => ({
  env: (n: string) => env[n],
  isFile: (p: string) => files.includes(p),
});

Deno.test("findChromium: --chromium, then CHROME_PATH, then the Debian default", () => {
  const all = ["/opt/a/chrome", "/opt/b/chrome", DEBIAN_CHROMIUM_PATH];
  assert.deepEqual(findChromium("/opt/a/chrome", probe({ CHROME_PATH: "/opt/b/chrome" }, all)), {
    path: "/opt/a/chrome",
    source: "flag",
  });
  assert.deepEqual(findChromium(undefined, probe({ CHROME_PATH: "/opt/b/chrome" }, all)), {
    path: "/opt/b/chrome",
    source: "env",
  });
  assert.deepEqual(findChromium(undefined, probe({}, all)), {
    path: DEBIAN_CHROMIUM_PATH,
    source: "default",
  });
});

Deno.test("findChromium: nothing found, or a named file missing, says how to install", () => {
  assert.throws(() => findChromium(undefined, probe({}, [])), (e: Error) => {
    assert.ok(e instanceof ChromiumNotFoundError);
    assert.match(e.message, /no Chromium found/);
    assert.ok(e.message.includes(CHROMIUM_INSTALL_COMMAND), e.message);
    assert.equal(CHROMIUM_INSTALL_COMMAND, "apt-get install -y chromium-headless-shell");
    return true;
  });
  // a flag or variable naming a missing file is not silently skipped
  assert.throws(
    () => findChromium("/no/such/chrome", probe({}, [DEBIAN_CHROMIUM_PATH])),
    /--chromium \/no\/such\/chrome: no such file; install it with `apt-get install/,
  );
  assert.throws(
    () => findChromium(undefined, probe({ CHROME_PATH: "/gone" }, [DEBIAN_CHROMIUM_PATH])),
    /CHROME_PATH=\/gone: no such file/,
  );
  // A command name, as on a command line (`--chromium chromium-headless-shell`): told to
  // install what was installed, since only the current folder was looked in.
  for (
    const [flag, env, named] of [
      ["chromium-headless-shell", {}, "--chromium chromium-headless-shell"],
      [undefined, { CHROME_PATH: "google-chrome" }, "CHROME_PATH=google-chrome"],
    ] as const
  ) {
    assert.throws(() => findChromium(flag, probe(env, [DEBIAN_CHROMIUM_PATH])), (e: Error) => {
      assert.ok(e instanceof ChromiumNotFoundError);
      const name = named.replace(/^.*[ =]/, "");
      assert.ok(
        e.message.startsWith(
          `${named}: no such file in this folder; --chromium and CHROME_PATH take the ` +
            `executable's path, not a command name looked up on PATH: give ` +
            `"$(command -v ${name})" where it is installed; else install it with`,
        ),
        e.message,
      );
      return true;
    });
  }
});

Deno.test("wire: a case request carries float64 tensors bit for bit, outputs float32", () => {
  const special = [0.1, -0, Infinity, -Infinity, NaN, 5e-324, 1 / 3];
  const inputs = {
    qNope: new Float64Array(special),
    qPe: new Float64Array([2.5]),
    latent: new Float64Array([]),
    kPe: new Float64Array([Math.PI, Math.E]),
    wKvB: new Float64Array([1e300]),
  };
  const header = { kind: "attention" as const, plan: {} as never, spec: {} as never, repeats: 2 };
  const bytes = encodeCaseRequest({ ...header, faultId: "x" }, inputs);
  const back = decodeCaseRequest(bytes.buffer);
  assert.equal(back.header.repeats, 2);
  assert.equal(back.header.faultId, "x");
  const got = attentionInputsOf(back.tensors);
  for (const k of ["qNope", "qPe", "latent", "kPe", "wKvB"] as const) {
    assert.deepEqual(
      new Uint8Array(got[k].buffer, got[k].byteOffset, got[k].byteLength),
      new Uint8Array(inputs[k].buffer),
      k,
    );
  }
  assert.ok(Object.is(got.qNope[1], -0));
  // absent tensors (optional layer weights) are left out, not sent empty
  const layer = decodeCaseRequest(
    encodeCaseRequest({ ...header, kind: "layer" }, { hidden: [1], qProj: undefined }).buffer,
  );
  assert.deepEqual(Object.keys(layer.tensors), ["hidden"]);
  assert.throws(() => attentionInputsOf(layer.tensors), /lacks tensor qNope/);
  // damaged bytes are named, not misread
  assert.throws(() => decodeCaseRequest(bytes.buffer.slice(0, bytes.length - 8)), /header says/);
  const out = decodeOutputs(
    encodeOutputs({ out: new Float32Array([1.5, NaN]), lse: [-Infinity] }).buffer,
  );
  assert.deepEqual([...out.out].map(String), ["1.5", "NaN"]);
  assert.equal(out.lse[0], -Infinity);
  assert.throws(() => decodeOutputs(new ArrayBuffer(12)), /lengths say/);
});

/** A transport whose peer is a function answering each message. */
function scripted(answer: (msg: Record<string, unknown>) => Record<string, unknown>[]) {
  let receiver: (t: string) => void = () => {};
  let end: () => void = () => {};
  const transport: CdpTransport = {
    send: (text) => {
      const replies = answer(JSON.parse(text));
      queueMicrotask(() => replies.forEach((r) => receiver(JSON.stringify(r))));
    },
    onMessage: (r) => receiver = r,
    closed: new Promise<void>((res) => end = res),
    close: () => end(),
  };
  return { transport, end: () => end(), push: (m: unknown) => receiver(JSON.stringify(m)) };
}

Deno.test("CdpConnection: replies by id, error replies, session events, close", async () => {
  const peer = scripted((m) =>
    m.method === "Browser.getVersion"
      ? [{ id: m.id, result: { product: "HeadlessChrome/1" } }]
      : m.method === "Bad.method"
      ? [{ id: m.id, error: { code: -32601, message: "'Bad.method' wasn't found" } }]
      : []
  );
  const cdp = new CdpConnection(peer.transport);
  assert.deepEqual(await cdp.send("Browser.getVersion"), { product: "HeadlessChrome/1" });
  await assert.rejects(cdp.send("Bad.method"), (e: Error) => {
    assert.ok(e instanceof CdpError);
    assert.equal(e.code, -32601);
    assert.match(e.message, /CDP Bad.method: 'Bad.method' wasn't found/);
    return true;
  });
  const seen: string[] = [];
  const off = cdp.on("Page.loadEventFired", (_p, s) => seen.push(String(s)), "S1");
  peer.push({ method: "Page.loadEventFired", params: {}, sessionId: "S2" });
  peer.push({ method: "Page.loadEventFired", params: {}, sessionId: "S1" });
  off();
  peer.push({ method: "Page.loadEventFired", params: {}, sessionId: "S1" });
  assert.deepEqual(seen, ["S1"]);
  // a command without a reply rejects when the browser goes away
  const hanging = cdp.send("Never.answered");
  peer.end();
  await assert.rejects(hanging, /the browser connection closed/);
  await assert.rejects(cdp.send("Browser.getVersion"), /closed/);
});

Deno.test("bundledTextSource: serves by file name, names what it carries otherwise", async () => {
  const src = bundledTextSource({ "rope.wgsl": "// r", "loop_budget.wgsl": "// l" });
  assert.equal(await src(new URL("file:///any/kernels/rope.wgsl")), "// r");
  assert.equal(await src(new URL("http://127.0.0.1:1/page.js/loop_budget.wgsl")), "// l");
  await assert.rejects(
    src(new URL("file:///x/absorbed.wgsl")),
    /source absorbed.wgsl is not in the bundle \(it carries rope.wgsl, loop_budget.wgsl\)/,
  );
  // no prototype keys
  await assert.rejects(src(new URL("file:///x/constructor")), /not in the bundle/);
});

Deno.test("device key: a browser run ends in -chromium; Deno's keys are unchanged", () => {
  const adapter = {
    adapter: {
      vendor: "google",
      architecture: "swiftshader",
      device: "0xc0de",
      description: "SwiftShader Device (Subzero)",
    },
    features: [],
  };
  const browser = {
    name: "chromium",
    version: "HeadlessChrome/156.0.8078.114",
    path: DEBIAN_CHROMIUM_PATH,
    userAgent: "Mozilla/5.0",
  };
  assert.equal(
    deviceKey({ adapter, browser }, { backend: "vulkan" }),
    "swiftshader-device-google-0xc0de-chromium",
  );
  // the same adapter under Deno (VK_ICD_FILENAMES=Chromium's SwiftShader) keeps Deno's form
  assert.equal(
    deviceKey({ adapter }, { backend: "vulkan" }),
    "swiftshader-device-google-0xc0de-vulkan",
  );
  const lavapipe = {
    adapter: { vendor: "65541", device: "0", description: "llvmpipe (LLVM 19.1.7, 256 bits)" },
  };
  assert.equal(deviceKey({ adapter: lavapipe }, { backend: "vulkan" }), "llvmpipe-65541-vulkan");
});

Deno.test("the page side type-checks as browser code (DOM lib, @webgpu/types)", async () => {
  const root = new URL("../", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", "browser/page_check.json", "browser/page_main.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  assert.ok(out.success, text);
});

Deno.test("waitForPageScript: waits as long as the page takes (no fixed 10 s), stops on its exception", async () => {
  // startPage gave up after 400 polls of 25 ms (10 s), whatever MLA_HARNESS_CHROMIUM_TIMEOUT
  // said (0: no limit); the caller's limit bounds it now
  let polls = 0;
  const slow = {
    messages: [] as { level: string; text: string }[],
    evaluate: () => Promise.resolve(++polls > 1000),
  };
  assert.deepEqual(await waitForPageScript(slow, 0), []);
  assert.equal(polls, 1001);
  // a script that failed never defines mlaHarness: its exception ends the wait at once
  const broken = {
    messages: [{ level: "exception", text: "SyntaxError: Unexpected token\n    at x.js:1" }],
    evaluate: () => Promise.resolve(false),
  };
  assert.deepEqual(await waitForPageScript(broken, 0), ["SyntaxError: Unexpected token"]);
});

Deno.test("pageMessageLine: a page's console message or uncaught exception, with its case", () => {
  assert.equal(
    pageMessageLine({ level: "warning", text: "slow\nmore" }, { during: "c1" }),
    'chromium page: console.warn during case "c1": slow',
  );
  assert.equal(
    pageMessageLine({ level: "log", text: "hi" }, { after: "c0" }),
    'chromium page: console.log after case "c0": hi',
  );
  assert.equal(
    pageMessageLine({ level: "error", text: "x" }, {}),
    "chromium page: console.error before any case: x",
  );
  assert.equal(
    pageMessageLine(
      { level: "exception", text: "Error: boom\n    at f (http://h/backend/m/mod.js:3:9)" },
      { during: null },
    ),
    "chromium page: an uncaught exception during a case (a throw in a timer, an event or an " +
      "un-awaited promise: no case's result includes it): Error: boom " +
      "(at f (http://h/backend/m/mod.js:3:9))",
  );
});

Deno.test("PageServer: a file a backend module's page fetches but does not list names the module, what it lists and where a fetch resolves", async () => {
  const server = PageServer.start("");
  const said: string[] = [];
  const error = console.error;
  console.error = (line: string) => said.push(line);
  try {
    server.serveFiles("/backend/m/", { "mod.js": { body: "", type: "text/javascript" } }, {
      module: "lib/wrap.ts",
      listed: [],
    });
    const r = await fetch(`${server.origin}/backend/m/naive.wgsl`);
    assert.equal(r.status, 404);
    const text = await r.text();
    // before: only "must be listed in its `files` export", for a module that imports another's
    // launch() (which fetches beside itself under Deno) and lists nothing
    assert.match(
      text,
      /is not served; .*: lib\/wrap\.ts lists no `files`; in the page a fetch\(new URL\(file, import\.meta\.url\)\) by it or by any module it imports resolves beside it .*"naive\.wgsl" must be beside lib\/wrap\.ts and listed there$/,
    );
    assert.deepEqual(said, [`chromium runtime: ${text}`]);
  } finally {
    console.error = error;
    await server.close();
  }
});

Deno.test("launchChromium: a profile a killed run left (its harness's pid gone) is removed at the next launch; a live one's stays", async () => {
  // a harness killed with its process group (SIGKILL) took the shell that removes the
  // profile with it: the folder stayed, about 5 MB a run
  const dead = new Deno.Command("sh", { args: ["-c", "exit 0"] }).spawn();
  await dead.status;
  const tmp = await Deno.makeTempDir({ prefix: "mla-probe-" });
  await Deno.remove(tmp);
  const dir = tmp.slice(0, tmp.lastIndexOf("/"));
  const stale = `${dir}/mla-harness-chromium-${dead.pid}-0123abcd`;
  const live = `${dir}/mla-harness-chromium-${Deno.pid}-0123abcd`;
  const script = await Deno.makeTempFile({ prefix: "mla-not-chromium-", suffix: ".sh" });
  try {
    await Deno.mkdir(`${stale}/Default`, { recursive: true });
    await Deno.mkdir(live);
    await Deno.writeTextFile(script, "#!/bin/sh\nexit 0\n");
    await Deno.chmod(script, 0o755);
    // not Chromium: it exits at once, after the launching shell swept
    await assert.rejects(launchChromium(script, { startTimeoutMs: 20000 }), ChromiumLaunchError);
    await assert.rejects(Deno.stat(stale), Deno.errors.NotFound);
    assert.ok((await Deno.stat(live)).isDirectory);
  } finally {
    await Deno.remove(stale, { recursive: true }).catch(() => {});
    await Deno.remove(live, { recursive: true }).catch(() => {});
    await Deno.remove(script);
  }
});

Deno.test("pipeTransport: an event handler that throws does not end the connection", async () => {
  const toBrowser = new TransformStream<Uint8Array, Uint8Array>();
  const fromBrowser = new TransformStream<Uint8Array, Uint8Array>();
  const cdp = new CdpConnection(pipeTransport(toBrowser.writable, fromBrowser.readable));
  const said: string[] = [];
  const error = console.error;
  console.error = (line: string) => said.push(line);
  const browser = fromBrowser.writable.getWriter();
  const enc = new TextEncoder();
  try {
    const seen: string[] = [];
    cdp.on("Runtime.exceptionThrown", () => {
      throw new TypeError("a handler's bug");
    });
    cdp.on("Runtime.exceptionThrown", () => seen.push("second"));
    const version = cdp.send("Browser.getVersion");
    await browser.write(enc.encode(
      JSON.stringify({ method: "Runtime.exceptionThrown", params: {} }) + "\0" +
        JSON.stringify({ id: 1, result: { product: "HeadlessChrome/1" } }) + "\0",
    ));
    // before: the throw ended the pipe's read loop, and the reply was "the browser connection
    // closed" with the browser alive
    assert.deepEqual(await version, { product: "HeadlessChrome/1" });
    assert.equal(cdp.closed, false);
    assert.deepEqual(seen, ["second"]);
    assert.deepEqual(said, [
      "chromium runtime: a handler of the DevTools event Runtime.exceptionThrown threw " +
      "(ignored): TypeError: a handler's bug",
    ]);
  } finally {
    console.error = error;
    cdp.close();
    await browser.close();
    await toBrowser.readable.cancel();
  }
});

Deno.test("bareImports: what a backend module's page bundle imports that a browser cannot resolve", async () => {
  // a module importing node:fs loaded in Deno; in the page its import failed with only
  // "Failed to fetch dynamically imported module: .../mod.js"
  assert.deepEqual(
    bareImports(
      'import { readFileSync } from "node:fs";\nimport "npm:side";\n' +
        'export * from "./near.js";\nimport x from "https://h/x.js";\n' +
        'var u = new URL("./naive.wgsl", import.meta.url);\nexport { y } from "jsr:@s/y";\n',
    ),
    ["node:fs", "npm:side", "jsr:@s/y"],
  );
  // the bundled example imports nothing
  const naive = new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--format",
      "esm",
      "examples/backends/naive/mod.ts",
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await naive.output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.deepEqual(bareImports(new TextDecoder().decode(out.stdout)), []);
});
