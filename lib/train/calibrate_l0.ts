// Sets the initial thresholds or biases of an SAE so that each latent fires on about targetL0 / F
// of the tokens of a calibration batch: training starts at its target L0 (JumpReLU's `threshold_init:
// quantile`) and the bench trains at a realistic L0. Which parameter moves is each architecture's
// calibrate() (k architectures need none). The same recipe as bench/reference_torch.py.
// Shapes: B batch, D d_model, F latents.
import type { Architecture, CalibrationSample, InitResult } from "../sae/types.ts";
import type { Blas } from "../engine/cpu/blas.ts";
import { rowKth } from "../engine/cpu/select_kth.ts";

/** Per-latent (1 - targetL0 / F) quantile of pre-activations pre [B, F]. */
function latentQuantiles(
  pre: Float32Array,
  options: { b: number; f: number; targetL0: number },
): Float32Array {
  const { b, f, targetL0 } = options;
  // The (k+1)-th largest value leaves exactly k entries strictly above it: rate k / B = targetL0 / F.
  const k = Math.min(b - 1, Math.max(1, Math.round((b * targetL0) / f))) + 1;
  const col = new Float32Array(b);
  const heap = new Float32Array(k);
  const q = new Float32Array(f);
  for (let i = 0; i < f; i++) {
    for (let r = 0; r < b; r++) col[r] = pre[r * f + i];
    q[i] = rowKth(col, 0, { length: b, k, heap });
  }
  return q;
}

/** Pooled standard deviation of every entry of pre (float64 sums). */
function pooledStd(pre: Float32Array): number {
  let sum = 0, sq = 0;
  for (const v of pre) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / pre.length;
  return Math.sqrt(Math.max(0, sq / pre.length - mean * mean));
}

/** Rows of the calibration batch used at most (the quantiles need a [B, F] matrix). */
export const MAX_CALIBRATION_ROWS = 4096;

/**
 * The calibration sample of `init` on x [B, D] (normalised; at most MAX_CALIBRATION_ROWS rows):
 * quantiles at targetL0 and pre-activation scales through `init`'s encoder weights, computed when
 * asked. With `subtractBDec`, the encoder sees x - b_dec as in training.
 */
export function calibrationSample(
  init: InitResult,
  options: { x: Float32Array; b: number; targetL0: number; blas: Blas; subtractBDec?: boolean },
): CalibrationSample {
  const [d] = init.params.b_dec?.shape ?? [options.x.length / options.b];
  const b = Math.min(options.b, MAX_CALIBRATION_ROWS);
  // The encoder input and x W [B, F] per weight, made when first asked (most runs ask nothing);
  // calibration moves biases and thresholds, never encoder weights, so both stay valid.
  let xIn: Float32Array | undefined;
  const input = () => {
    if (xIn) return xIn;
    xIn = options.x.subarray(0, b * d);
    const bDec = options.subtractBDec ? init.params.b_dec?.data : undefined;
    if (bDec) xIn = xIn.map((v, i) => v - bDec[i % d]);
    return xIn;
  };
  const pres = new Map<string, Float32Array>();
  const preOf = (wName: string) => {
    let pre = pres.get(wName);
    if (!pre) {
      const x = input();
      const f = init.params[wName].shape[1];
      pre = new Float32Array(b * f);
      options.blas.sgemm(x, init.params[wName].data, { c: pre, m: b, n: f, k: d });
      pres.set(wName, pre);
    }
    return pre;
  };
  return {
    quantiles: (wName) =>
      latentQuantiles(preOf(wName), {
        b,
        f: init.params[wName].shape[1],
        targetL0: options.targetL0,
      }),
    preActStd: (wName) => pooledStd(preOf(wName)),
    reconstructionScale: (wName, threshold) => {
      const pre = preOf(wName);
      const f = init.params[wName].shape[1];
      const fired = pre.map((v, i) => (v > threshold[i % f] ? v : 0));
      const xHat = new Float32Array(b * d);
      options.blas.sgemm(fired, init.params.W_dec.data, { c: xHat, m: b, n: d, k: f });
      // x - b_dec whether or not the encoder subtracts it: x_hat = f W_dec + b_dec.
      const bDec = init.params.b_dec?.data;
      let dot = 0, norm = 0;
      for (let i = 0; i < b * d; i++) {
        const target = options.x[i] - (bDec ? bDec[i % d] : 0);
        dot += target * xHat[i];
        norm += xHat[i] * xHat[i];
      }
      return norm > 0 && dot > 0 ? dot / norm : 1;
    },
  };
}

/** Bench calibration: adjusts init in place through the architecture's calibrate(). */
export function calibrateL0(
  arch: Architecture,
  init: InitResult,
  options: { x: Float32Array; b: number; targetL0: number; blas: Blas; subtractBDec?: boolean },
): void {
  arch.calibrate?.(init, calibrationSample(init, options));
}
