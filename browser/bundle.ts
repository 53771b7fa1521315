/**
 * Builds the page's script: browser/page_main.ts and everything it imports (the harness's
 * gpu/ and kernels/) bundled with `deno bundle` (esbuild) for the browser, with the WGSL
 * sources it reads prepended as `globalThis.__mlaWgsl` (gpu/text_source.ts serves them
 * in the page). Built once per process.
 *
 * @module
 */

/** Folders whose `*.wgsl` files the bundle carries (kernels, the loop probe, the ceilings). */
const WGSL_DIRS = [
  new URL("../kernels/", import.meta.url),
  new URL("../gpu/", import.meta.url),
  new URL("../bench/", import.meta.url),
];

/** A bundle build failed (its message carries deno bundle's output). */
export class BundleError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/**
 * The WGSL texts the page needs, by file name (a name in two folders is an error: the page
 * finds texts by name).
 *
 * @example
 * ```ts
 * import { wgslTexts } from "./bundle.ts";
 * const texts = await wgslTexts();
 * "rope.wgsl" in texts; // true
 * ```
 */
export async function wgslTexts(): Promise<Record<string, string>> {
  const texts: Record<string, string> = {};
  for (const dir of WGSL_DIRS) {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".wgsl")) names.push(e.name);
    }
    for (const name of names.sort()) {
      if (Object.hasOwn(texts, name)) {
        throw new BundleError(`two kernel files are named ${name}: the page finds them by name`);
      }
      texts[name] = await Deno.readTextFile(new URL(name, dir));
    }
  }
  return texts;
}

let built: Promise<string> | null = null;

/**
 * The page script (cached per process). Needs `--allow-run` for Deno's own executable
 * (`deno bundle`) and read access to the repository.
 *
 * @example
 * ```ts ignore
 * import { pageBundle } from "./bundle.ts";
 * const js = await pageBundle();
 * js.startsWith("globalThis.__mlaWgsl = "); // true
 * ```
 */
export function pageBundle(): Promise<string> {
  built ??= build();
  built.catch(() => built = null);
  return built;
}

/**
 * This process's Deno when it may run it, else `deno` from PATH (the deno.json tasks
 * grant `--allow-run=deno`, which names the one on PATH).
 */
function denoExecutable(): string {
  try {
    const own = Deno.permissions.querySync({ name: "run", command: Deno.execPath() });
    if (own.state === "granted") return Deno.execPath();
  } catch {
    // not known: fall through
  }
  return "deno";
}

async function build(): Promise<string> {
  const entry = new URL("./page_main.ts", import.meta.url);
  const js = await denoBundle(entry, new URL("../deno.json", import.meta.url));
  return `globalThis.__mlaWgsl = ${JSON.stringify(await wgslTexts())};\n${js}`;
}

/**
 * A user backend module (`--backend-module`, a file: URL) bundled for the page: its
 * TypeScript as one browser ES module. It keeps `import.meta.url`, so a module that fetches
 * its WGSL relative to itself finds it where the page's server serves the module's
 * `files`.
 *
 * @example
 * ```ts ignore
 * import { bundleBackendModule } from "./bundle.ts";
 * const js = await bundleBackendModule(new URL("../examples/backends/naive/mod.ts", import.meta.url));
 * ```
 */
export function bundleBackendModule(url: URL): Promise<string> {
  if (url.protocol !== "file:") {
    return Promise.reject(
      new BundleError(`${url.href}: only a local backend module can be bundled for the page`),
    );
  }
  return denoBundle(url);
}

async function denoBundle(entry: URL, config?: URL): Promise<string> {
  // The bundle comes on stdout: written to a temporary folder, it was left there (1.1 MB a
  // time) whenever the harness was stopped while bundling (a Ctrl-C or SIGTERM during
  // start-up ends the process before any finally runs).
  const out = await new Deno.Command(denoExecutable(), {
    args: [
      "bundle",
      "--quiet",
      ...(config ? ["--config", config.pathname] : []),
      "--platform",
      "browser",
      "--format",
      "esm",
      entry.pathname,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-8).join("\n");
    throw new BundleError(`deno bundle ${entry.pathname} failed:\n${text}`);
  }
  return new TextDecoder().decode(out.stdout);
}
