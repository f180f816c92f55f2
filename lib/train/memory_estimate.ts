// A rough upper estimate of the host memory one training run needs, from its shapes, so that a
// sweep can refuse an absurd width or d_model before it starts instead of running out of memory.
// Pure. Counts float32 values: parameters, Adam moments, gradients and checkpoint copies, plus
// the batch-sized activations of a step.

/** Rows the final evaluation encodes at once (lib/train/evaluate.ts `chunk`). */
export const EVAL_CHUNK = 2048;

/**
 * Bytes one run needs at most, roughly (float32 everywhere). `evalTokens`: the final evaluation
 * holds its held-out vectors twice (the source's cache and the normalised copy) and encodes them
 * EVAL_CHUNK rows at a time; it is the peak when eval.tokens is far above the batch size.
 */
export function estimateRunBytes(
  shape: { d: number; f: number; batch: number; evalTokens?: number },
): number {
  const { d, f, batch, evalTokens = 0 } = shape;
  // W_enc, W_dec, b_enc, b_dec, thresholds or gate extras (gated adds about one more [D, F]).
  const params = 3 * d * f + 3 * f + d;
  // params + Adam m, v + gradients + a snapshot and its encoded checkpoint (params, m, v each).
  const persistent = params * (4 + 6);
  // Pre-activations, latents, their gradients and masks per token; inputs and reconstructions.
  const perStep = batch * (6 * f + 4 * d);
  // Held-out vectors twice, and one chunk's latents and reconstructions.
  const evaluation = evalTokens > 0
    ? 2 * evalTokens * d + Math.min(evalTokens, EVAL_CHUNK) * (2 * f + d)
    : 0;
  return 4 * (persistent + Math.max(perStep, evaluation));
}

/** Formats bytes for a message: `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) {
    bytes /= 1024;
    i++;
  }
  return `${bytes.toFixed(bytes < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}
