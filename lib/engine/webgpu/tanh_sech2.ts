// tanh(x) and sech^2(x) in float32 WGSL for the tanh penalty (the column pass of step_programs.ts),
// as the cuda engine's lib/engine/cuda/tanh_sech2.ts. Both from one exp(-2|x|), so sech^2 keeps its
// relative accuracy far from 0 and nothing overflows; below |x| = 0.125 tanh is its series, where
// (1 - e) / (1 + e) would cancel. WGSL's own tanh on llvmpipe measured a relative error of
// 1.7e-5 at x = 1e-3 and 1.3e-2 at 1e-6 (tests/engine/webgpu/tanh_sech2_test.ts holds this to 2e-6).

/** WGSL `fn tanh_sech2(x: f32) -> vec2<f32>`: (tanh(x), sech^2(x)). */
export const TANH_SECH2 = `fn tanh_sech2(x: f32) -> vec2<f32> {
  let a = abs(x);
  let e = exp(-2.0 * a);
  let q = 1.0 + e;
  var t = (1.0 - e) / q;
  if (a < 0.125) {
    let a2 = a * a;
    t = a * (1.0 + a2 * (-0.33333334 + a2 * (0.13333334 - a2 * 0.053968254)));
  }
  return vec2<f32>(sign(x) * t, 4.0 * e / (q * q));
}`;
