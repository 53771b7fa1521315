/**
 * Screenshots of HTML reports in headless Chromium (over CDP, browser/), for docs/.
 *
 * Usage: deno run -A tools/report_screenshot.ts <report.html> <out.png> [width] [height]
 *
 * @module
 */
import { findChromium, launchChromium } from "../browser/chromium.ts";
import { Page } from "../browser/page.ts";
import { toolCounts } from "./tool_args.ts";

/** Options of {@link screenshotHtml}. */
export interface ScreenshotOptions {
  /** Viewport width in CSS pixels (default 1200). */
  readonly width?: number;
  /** Height of the capture in CSS pixels (default 1400; the page is clipped there). */
  readonly height?: number;
}

/**
 * Opens a local HTML file in headless Chromium and returns a PNG of its top part.
 *
 * @example
 * ```ts ignore
 * import { screenshotHtml } from "./report_screenshot.ts";
 * await Deno.writeFile("shot.png", await screenshotHtml("out/smoke/report.html"));
 * ```
 */
export async function screenshotHtml(
  htmlPath: string,
  options: ScreenshotOptions = {},
): Promise<Uint8Array> {
  const width = options.width ?? 1200, height = options.height ?? 1400;
  const browser = await launchChromium(findChromium(undefined).path, { transport: "pipe" });
  try {
    const page = await Page.open(browser);
    await page.send("Emulation.setDeviceMetricsOverride", {
      width,
      height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    await page.navigate(new URL(await Deno.realPath(htmlPath), "file:///").href);
    const shot = await page.send("Page.captureScreenshot", {
      format: "png",
      clip: { x: 0, y: 0, width, height, scale: 1 },
    });
    return Uint8Array.from(atob(String(shot.data)), (c) => c.charCodeAt(0));
  } finally {
    await browser.close();
  }
}

if (import.meta.main) {
  const usage = "usage: deno run -A tools/report_screenshot.ts <report.html> <out.png> [width] " +
    "[height]";
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(usage);
    Deno.exit(0);
  }
  const [input, output, ...size] = Deno.args;
  if (!input || !output) {
    console.error(usage);
    Deno.exit(2);
  }
  const [w, h] = toolCounts(size, ["width", "height"], { usage });
  // said before Chromium starts: a missing page, an output that is a folder
  const inputInfo = await Deno.stat(input).catch(() => null);
  if (inputInfo === null || !inputInfo.isFile) {
    console.error(`${input}: ${inputInfo === null ? "no such file" : "not a file"}\n${usage}`);
    Deno.exit(2);
  }
  if ((await Deno.stat(output).catch(() => null))?.isDirectory) {
    console.error(`${output}: is a folder; name the PNG file to write\n${usage}`);
    Deno.exit(2);
  }
  // the PNG's folder: one that is missing or a file was an uncaught error after Chromium ran
  const slash = output.lastIndexOf("/");
  const folder = slash < 0 ? "." : slash === 0 ? "/" : output.slice(0, slash);
  const folderInfo = await Deno.stat(folder).catch(() => null);
  if (!folderInfo?.isDirectory) {
    console.error(
      `${output}: ${folder} is ${
        folderInfo === null ? "no such folder" : "not a folder"
      }\n${usage}`,
    );
    Deno.exit(2);
  }
  const png = await screenshotHtml(input, { width: w, height: h });
  try {
    await Deno.writeFile(output, png);
  } catch (e) {
    console.error(`${output}: cannot write: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
  console.log(`wrote ${output}`);
}
