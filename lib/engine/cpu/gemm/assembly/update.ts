// AssemblyScript source of the fast engine's optimiser passes (part of lib/engine/cpu/gemm/sgemm.wasm): Adam,
// the decoder-gradient projection and row renormalisation of lib/engine/cpu/adam.ts, on ranges of
// entries or rows (one thread's share). Computed in float64 pairs (f64x2) with the same operations
// in the same order as the TypeScript versions, so the results are bit-identical to them.

@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

@inline function st2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/**
 * Entries [i0, i1) of one Adam update (adamUpdate in lib/engine/cpu/adam.ts): with g' = g * scale,
 * m = beta1 m + (1 - beta1) g' (m = g' when beta1 is 0), v = beta2 v + (1 - beta2) g'^2,
 * p -= step m / (sqrt(v * ic2) + eps).
 */
export function adam(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  beta1: f64,
  beta2: f64,
  step: f64,
  ic2: f64,
  eps: f64,
  scale: f64,
  i0: i32,
  i1: i32,
): void {
  const a1 = f64x2.splat(1 - beta1);
  const a2 = f64x2.splat(1 - beta2);
  const b1 = f64x2.splat(beta1);
  const b2 = f64x2.splat(beta2);
  const sv = f64x2.splat(scale);
  const st = f64x2.splat(step);
  const ic = f64x2.splat(ic2);
  const ev = f64x2.splat(eps);
  const plain = beta1 == 0;
  let i = i0;
  for (; i + 2 <= i1; i += 2) {
    const o = <usize>i << 2;
    const gi = f64x2.mul(ld2(g + o), sv);
    st2(m + o, plain ? gi : f64x2.add(f64x2.mul(b1, ld2(m + o)), f64x2.mul(a1, gi)));
    st2(v + o, f64x2.add(f64x2.mul(b2, ld2(v + o)), f64x2.mul(f64x2.mul(a2, gi), gi)));
    const den = f64x2.add(f64x2.sqrt(f64x2.mul(ld2(v + o), ic)), ev);
    st2(p + o, f64x2.sub(ld2(p + o), f64x2.div(f64x2.mul(st, ld2(m + o)), den)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const gi = <f64>load<f32>(g + o) * scale;
    store<f32>(m + o, <f32>(plain ? gi : beta1 * <f64>load<f32>(m + o) + (1 - beta1) * gi));
    store<f32>(v + o, <f32>(beta2 * <f64>load<f32>(v + o) + (1 - beta2) * gi * gi));
    const den = Math.sqrt(<f64>load<f32>(v + o) * ic2) + eps;
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) - (step * <f64>load<f32>(m + o)) / den));
  }
}

/** dot of lib/engine/cpu/vec.ts: four float64 lanes, tail into the first, summed left to right. */
@inline function dot64(x: usize, y: usize, n: i32): f64 {
  let s01 = f64x2.splat(0);
  let s23 = f64x2.splat(0);
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    const o = <usize>k << 2;
    s01 = f64x2.add(s01, f64x2.mul(ld2(x + o), ld2(y + o)));
    s23 = f64x2.add(s23, f64x2.mul(ld2(x + o + 8), ld2(y + o + 8)));
  }
  let s0 = f64x2.extract_lane(s01, 0);
  for (; k < n; k++) {
    s0 += <f64>load<f32>(x + (<usize>k << 2)) * <f64>load<f32>(y + (<usize>k << 2));
  }
  return s0 + f64x2.extract_lane(s01, 1) + f64x2.extract_lane(s23, 0) +
    f64x2.extract_lane(s23, 1);
}

/** Rows [r0, r1): g[r, :] -= (g[r, :] . w[r, :]) w[r, :] (projectRows). */
export function projectRows(g: usize, w: usize, d: i32, r0: i32, r1: i32): void {
  const bytes = <usize>d << 2;
  for (let r = r0; r < r1; r++) {
    const go = g + <usize>r * bytes;
    const wo = w + <usize>r * bytes;
    const gw = dot64(go, wo, d);
    if (gw == 0) continue;
    const a = f64x2.splat(-gw);
    let k = 0;
    for (; k + 2 <= d; k += 2) {
      const o = <usize>k << 2;
      st2(go + o, f64x2.add(ld2(go + o), f64x2.mul(a, ld2(wo + o))));
    }
    for (; k < d; k++) {
      const o = <usize>k << 2;
      store<f32>(go + o, <f32>(<f64>load<f32>(go + o) + -gw * <f64>load<f32>(wo + o)));
    }
  }
}

/** Rows [r0, r1) of w scaled to unit L2 norm, norms floored at 1e-12 (normalizeRows). */
export function normalizeRows(w: usize, d: i32, r0: i32, r1: i32): void {
  const bytes = <usize>d << 2;
  for (let r = r0; r < r1; r++) {
    const wo = w + <usize>r * bytes;
    const norm = <f64><f32>Math.sqrt(dot64(wo, wo, d));
    const s = 1 / Math.max(norm, 1e-12);
    const sv = f64x2.splat(s);
    let k = 0;
    for (; k + 2 <= d; k += 2) {
      const o = <usize>k << 2;
      st2(wo + o, f64x2.mul(ld2(wo + o), sv));
    }
    for (; k < d; k++) {
      const o = <usize>k << 2;
      store<f32>(wo + o, <f32>(<f64>load<f32>(wo + o) * s));
    }
  }
}
