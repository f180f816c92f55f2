// JumpReLU health on held-out data: how many thresholds no held-out pre-activation reaches, how
// many lie so far above every pre-activation that no token falls in their STE window (stranded:
// the L0 and reconstruction STEs give them no gradient), and the fraction of pre-activation
// entries inside the window. Host arithmetic on an exported snapshot; no training state.
// Shapes: N tokens, D d_model, F latents.
import type { HostTensors, SaeConfig } from "../types.ts";
import type { Blas } from "../../engine/cpu/blas.ts";
import { steBandwidth, thresholdValues } from "./options.ts";

/** The held-out health fields of summary.json (fractions in [0, 1]). */
export interface ThresholdHealth {
  /** Latents whose threshold is at or above every held-out pre-activation (never fire there). */
  thr_unreachable_frac: number;
  /** Latents whose threshold is at least eps / 2 above every held-out pre-activation. */
  thr_stranded_frac: number;
  /** Held-out pre-activation entries with |pi - theta| < eps / 2 (the STE window). */
  ste_window_frac: number;
}

/**
 * Threshold health of a JumpReLU SAE (parameters in the engine's external layout: W_enc [D, F])
 * on normalised held-out inputs x [N, D], in chunks of `chunk` rows.
 */
export function thresholdHealth(
  params: HostTensors,
  options: {
    sae: SaeConfig;
    x: Float32Array;
    n: number;
    blas: Blas;
    chunk?: number;
    /** The STE bandwidth resolved from the data (state `bandwidth`), if any. */
    resolvedEps?: number;
  },
): ThresholdHealth {
  const { sae, x, n, blas } = options;
  const eps = steBandwidth(sae, options.resolvedEps);
  const [d, f] = params.W_enc.shape;
  const theta = thresholdValues({
    log_threshold: params.log_threshold?.data,
    threshold: params.threshold?.data,
  });
  const bEnc = params.b_enc.data;
  const bDec = params.b_dec.data;
  const chunk = Math.max(1, options.chunk ?? 1024);
  const maxPi = new Float64Array(f).fill(-Infinity); // per latent, over all tokens
  const xIn = new Float32Array(chunk * d);
  const pre = new Float32Array(chunk * f); // [rows, F]
  let inWindow = 0;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    xIn.set(x.subarray(start * d, (start + rows) * d));
    if (sae.pre_encoder_bias) {
      for (let r = 0; r < rows; r++) for (let k = 0; k < d; k++) xIn[r * d + k] -= bDec[k];
    }
    for (let r = 0; r < rows; r++) pre.set(bEnc, r * f);
    blas.sgemm(xIn, params.W_enc.data, { c: pre, m: rows, n: f, k: d, beta: 1 });
    for (let r = 0; r < rows; r++) {
      const o = r * f;
      for (let i = 0; i < f; i++) {
        const pi = pre[o + i];
        if (pi > maxPi[i]) maxPi[i] = pi;
        // Rectangle kernel as the training STE evaluates it (float32 difference over eps).
        const u = Math.fround(Math.fround(pi - theta[i]) / eps);
        if (u > -0.5 && u < 0.5) inWindow++;
      }
    }
  }
  let unreachable = 0;
  let stranded = 0;
  for (let i = 0; i < f; i++) {
    if (maxPi[i] <= theta[i]) unreachable++;
    if (maxPi[i] <= theta[i] - eps / 2) stranded++;
  }
  return {
    thr_unreachable_frac: unreachable / f,
    thr_stranded_frac: stranded / f,
    ste_window_frac: n > 0 ? inWindow / (n * f) : Number.NaN,
  };
}
