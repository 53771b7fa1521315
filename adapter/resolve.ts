/**
 * `resolve()`: the one place a case becomes an explicit {@link Plan} or an explicit
 * {@link Unsupported} carrying every reason.
 *
 * @module
 */
import { AUTO_PRIORITY, BACKENDS } from "./backends.ts";
import { normalizeLayout } from "./layout.ts";
import type { BackendId, CaseRequest, DeviceCaps, Plan, Resolution, Unsupported } from "./types.ts";

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /** Force a number of KV splits for the absorbed kernel. */
  kvSplits?: number;
}

function tryBackend(
  id: BackendId,
  req: CaseRequest,
  caps: DeviceCaps | null,
  options: ResolveOptions,
): Plan | Unsupported {
  const layout = normalizeLayout(req.layout);
  const answer = BACKENDS[id].check({
    spec: req.spec,
    layout,
    dtype: req.dtype,
    caps,
    kvSplits: options.kvSplits,
  });
  if (answer.reasons.length > 0) {
    return { kind: "unsupported", backend: id, reasons: answer.reasons };
  }
  return {
    kind: "plan",
    backend: id,
    requested: req.backend,
    path: answer.path,
    variant: answer.variant,
    attention: {
      numHeads: req.spec.numHeads,
      kChannels: req.spec.kChannels,
      vChannels: req.spec.vChannels,
      keyWidth: answer.keyWidth,
      valueWidth: answer.valueWidth,
      softmaxScale: req.spec.softmaxScale,
    },
    layout,
    buffers: answer.buffers,
    passedOver: [],
  };
}

/**
 * Resolve a case on a device (or on no device: `caps` null). A concrete backend
 * returns its plan or every reason it cannot run; `auto` tries
 * {@link AUTO_PRIORITY} in order and, when nothing fits, returns an Unsupported
 * carrying every candidate's reasons (codes prefixed with the backend id). Bad
 * layouts throw a `ConfigError` (bad input is not an unsupported case).
 *
 * @example
 * ```ts
 * import { presetSpec } from "./presets.ts";
 * import { resolve } from "./resolve.ts";
 * const r = resolve({
 *   spec: presetSpec("tiny"), dtype: "f16", backend: "auto",
 *   layout: { kind: "bshd", batch: 1, seqQ: 1, seqK: 8, causal: true },
 * }, null);
 * r.kind; // "unsupported": there is no device
 * ```
 */
export function resolve(
  req: CaseRequest,
  caps: DeviceCaps | null,
  options: ResolveOptions = {},
): Resolution {
  if (req.backend !== "auto") return tryBackend(req.backend, req, caps, options);
  const passedOver: Unsupported[] = [];
  for (const id of AUTO_PRIORITY) {
    const r = tryBackend(id, req, caps, options);
    if (r.kind === "plan") return { ...r, passedOver };
    passedOver.push(r);
  }
  return {
    kind: "unsupported",
    backend: "auto",
    reasons: passedOver.flatMap((u) =>
      u.reasons.map((r) => ({ code: `${u.backend}:${r.code}`, message: r.message }))
    ),
  };
}
