/**
 * Keep pass timestamps true on lavapipe when a kernel uses a texture.
 *
 * WebGPU zero-fills a texture before its first use unless a copy wrote all of it. wgpu
 * does that with a render pass that clears the texture, unless the texture can be copied
 * into (usage COPY_DST), in which case it copies zeros from a buffer. On lavapipe (Mesa
 * 22.3) a render pass leaves its framebuffer bound to the context after it ends, and
 * llvmpipe then records every later timestamp query into the bins of that framebuffer's
 * tiles: the time is taken when those bins are drawn, at the next flush, which comes after
 * the following dispatch has run. So once any texture was cleared that way, every later
 * pass of the device that binds no texture reads a few hundredths of a millisecond by its
 * timestamps however long it ran (docs/benchmarks.md, session 13;
 * tools/texture_timestamp_probe.ts shows both cases). Giving every texture COPY_DST makes
 * wgpu clear by copies, which set no framebuffer.
 *
 * @module
 */

/**
 * Whether a copy may write a texture of `d`: single-sampled color formats (wgpu refuses
 * COPY_DST on depth, stencil and multisampled textures).
 */
function copyableInto(d: GPUTextureDescriptor): boolean {
  const f = String(d.format);
  return (d.sampleCount ?? 1) === 1 && !f.startsWith("depth") && !f.startsWith("stencil");
}

/**
 * The usage `descriptor` gets on a device passed to {@link clearTexturesByCopies}: its own,
 * plus COPY_DST where a copy may write the format (single-sampled color formats).
 *
 * @example
 * ```ts
 * import { clearableUsage } from "./texture_clears.ts";
 * const usage = clearableUsage({ size: [4, 4], format: "rgba32float", usage: 0x04 });
 * // 0x04 (TEXTURE_BINDING) | 0x02 (COPY_DST) = 6
 * ```
 */
export function clearableUsage(descriptor: GPUTextureDescriptor): number {
  // GPUTextureUsage.COPY_DST is 0x02 (a constant: this module also loads without WebGPU).
  return copyableInto(descriptor) ? descriptor.usage | 0x02 : descriptor.usage;
}

/**
 * Make `device.createTexture` add COPY_DST to every texture a copy can write, so that wgpu
 * zero-fills textures by buffer copies rather than a render pass (see the module text).
 * A depth or stencil texture, and one a kernel renders into (RENDER_ATTACHMENT), is still
 * cleared by a render pass: on lavapipe such a texture makes every later pass's timestamps
 * wrong, and nothing here can prevent that. The harness calls this on each device it
 * creates.
 *
 * @example
 * ```ts
 * // needs a WebGPU device: run where one is (tests/doc_examples_gpu_test.ts)
 * import { clearTexturesByCopies } from "./texture_clears.ts";
 * declare const device: GPUDevice;
 * clearTexturesByCopies(device);
 * ```
 */
export function clearTexturesByCopies(device: GPUDevice): void {
  const create = device.createTexture.bind(device);
  Object.defineProperty(device, "createTexture", {
    value: (descriptor: GPUTextureDescriptor): GPUTexture =>
      create({ ...descriptor, usage: clearableUsage(descriptor) }),
    configurable: true,
  });
}
