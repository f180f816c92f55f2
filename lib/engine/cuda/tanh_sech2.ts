// tanh(x) and sech^2(x) in float32 CUDA C for the tanh penalty (the column pass of step_plan.ts),
// the same arithmetic as the webgpu engine's lib/engine/webgpu/tanh_sech2.ts: both from one
// exp(-2|x|), with tanh's series below |x| = 0.125, where (1 - e) / (1 + e) would cancel.

/** CUDA C statements declaring `float tt = tanh(x)` and `float ts2 = sech^2(x)` (x an expression). */
export function tanhSech2(x: string): string {
  return `float tx = ${x}, ta = fabsf(tx), te = expf(-2.0f * ta), tq = 1.0f + te, ta2 = ta * ta;
    float tt = copysignf(ta < 0.125f
      ? ta * (1.0f + ta2 * (-0.33333334f + ta2 * (0.13333334f - ta2 * 0.053968254f)))
      : (1.0f - te) / tq, tx);
    float ts2 = 4.0f * te / (tq * tq);`;
}
