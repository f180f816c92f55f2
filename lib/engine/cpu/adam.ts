// Host-side optimiser pieces of the fast engine, the same maths as lib/engine/reference/tfjs_engine.ts:
// Adam with bias correction, decoder-gradient projection, row renormalisation, gradient norm.
// Shapes: F latents, D d_model.
import { axpy, dot, scaleRow } from "./vec.ts";

/** g[i, :] -= (g[i, :] . w[i, :]) w[i, :] for every row: removes the component along each row. */
export function projectRows(g: Float32Array, w: Float32Array, d: number): void {
  const rows = g.length / d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const gw = dot(g, o, w, o, d);
    if (gw !== 0) axpy(-gw, w, o, g, o, d);
  }
}

/** Scales every row of w [rows, d] to unit L2 norm (norms floored at 1e-12). */
export function normalizeRows(w: Float32Array, d: number): void {
  const rows = w.length / d;
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    const norm = Math.fround(Math.sqrt(dot(w, o, w, o, d)));
    scaleRow(1 / Math.max(norm, 1e-12), w, o, d);
  }
}

export function sumSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

export interface AdamOptions {
  m: Float32Array;
  v: Float32Array;
  beta1: number;
  beta2: number;
  /** Bias corrections 1 - beta^t. */
  c1: number;
  c2: number;
  lr: number;
  eps: number;
  /** Multiplier applied to g first (gradient clipping); 1 for none. */
  scale: number;
}

/**
 * One Adam update of p in place from gradient g, updating the moments m and v:
 * p -= lr (m / c1) / (sqrt(v / c2) + eps), with the constant divisions folded out of the loop.
 */
export function adamUpdate(p: Float32Array, g: Float32Array, options: AdamOptions): void {
  const { m, v, beta1, beta2, c1, c2, lr, eps, scale } = options;
  const a1 = 1 - beta1;
  const a2 = 1 - beta2;
  const step = lr / c1;
  const ic2 = 1 / c2;
  const n = p.length;
  if (beta1 === 0) {
    for (let i = 0; i < n; i++) {
      const gi = g[i] * scale;
      m[i] = gi;
      v[i] = beta2 * v[i] + a2 * gi * gi;
      p[i] -= (step * m[i]) / (Math.sqrt(v[i] * ic2) + eps);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const gi = g[i] * scale;
    m[i] = beta1 * m[i] + a1 * gi;
    v[i] = beta2 * v[i] + a2 * gi * gi;
    p[i] -= (step * m[i]) / (Math.sqrt(v[i] * ic2) + eps);
  }
}
