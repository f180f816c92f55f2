// thresholdHealth() (lib/sae/jumprelu/health.ts) on a hand-computed case: 3 held-out tokens x 4
// latents with chosen pre-activations (W_enc = I, b_enc = 0) and thresholds, eps = 0.2.
import assert from "node:assert/strict";
import { thresholdHealth } from "../../lib/sae/jumprelu/health.ts";
import type { HostTensors } from "../../lib/sae/types.ts";
import { JS_BLAS } from "../../lib/engine/cpu/js_gemm.ts";
import { saeSpec } from "../_tf.ts";

const PI = [
  [0.45, 0.7, 0.95, 0.0],
  [0.58, 0.2, 1.05, 1.85],
  [0.3, 0.55, 0.5, 1.93],
];
const THETA = [0.5, 0.5, 1.2, 2.0];
// Max pi per latent: 0.58, 0.7, 1.05, 1.93. Unreachable (max <= theta): latents 2 and 3.
// Stranded (max <= theta - 0.1): latent 2 only (1.05 <= 1.1; 1.93 > 1.9).
// In the window |pi - theta| < 0.1: (0, 0) 0.05, (1, 0) 0.08, (2, 1) 0.05, (2, 3) 0.07: 4 of 12.
const WANT = { thr_unreachable_frac: 2 / 4, thr_stranded_frac: 1 / 4, ste_window_frac: 4 / 12 };

function params(options: { log: boolean; bDec: number }): HostTensors {
  const eye = new Float32Array(16).map((_, i) => i % 5 === 0 ? 1 : 0);
  const theta = Float32Array.from(THETA);
  return {
    W_enc: { shape: [4, 4], data: eye },
    b_enc: { shape: [4], data: new Float32Array(4) },
    W_dec: { shape: [4, 4], data: eye },
    b_dec: { shape: [4], data: new Float32Array(4).fill(options.bDec) },
    ...(options.log
      ? { log_threshold: { shape: [4], data: theta.map(Math.log) } }
      : { threshold: { shape: [4], data: theta } }),
  };
}

Deno.test("thresholdHealth() counts unreachable and stranded thresholds and the STE window", () => {
  const sae = saeSpec({
    architecture: "jumprelu",
    width: 4,
    pre_encoder_bias: false,
    jumprelu: { threshold_param: "linear", bandwidth: 0.2 },
  });
  const x = Float32Array.from(PI.flat());
  const got = thresholdHealth(params({ log: false, bDec: 0 }), { sae, x, n: 3, blas: JS_BLAS });
  assert.deepEqual(got, WANT);
});

Deno.test("thresholdHealth() subtracts b_dec with the pre-encoder bias, reads log theta, and chunks", () => {
  const sae = saeSpec({
    architecture: "jumprelu",
    width: 4,
    pre_encoder_bias: true,
    jumprelu: { bandwidth: 0.2 },
  });
  // x - b_dec = PI (up to float32 rounding, far from every decision edge).
  const x = Float32Array.from(PI.flat().map((v) => v + 0.25));
  const got = thresholdHealth(params({ log: true, bDec: 0.25 }), {
    sae,
    x,
    n: 3,
    blas: JS_BLAS,
    chunk: 2,
  });
  assert.deepEqual(got, WANT);
});
