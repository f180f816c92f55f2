// Dense pieces shared by the fast kernels: encoder input and pre-activation GEMM, reconstruction
// loss and its gradient, bias gradients, dense latents for inference. Private to lib/fast/.
// Shapes: B batch, D d_model, F latents.
import type { KernelContext } from "./fast_kernel.ts";
import { ActiveList } from "./active.ts";

/** x - b_dec [B, D] when `subtract`, else x itself. */
export function encoderInput(
  ctx: KernelContext,
  x: Float32Array,
  options: { b: number; subtract: boolean; name?: string },
): Float32Array {
  if (!options.subtract) return x;
  const d = ctx.d;
  const bDec = ctx.params.b_dec;
  const out = ctx.ws.get(options.name ?? "xIn", options.b * d); // [B, D]
  for (let r = 0; r < options.b; r++) {
    const o = r * d;
    for (let k = 0; k < d; k++) out[o + k] = x[o + k] - bDec[k];
  }
  return out;
}

/** xIn [B, D] @ wT^T with wT [F, D] stored transposed: the raw encoder GEMM [B, F] (no bias). */
export function encoderGemm(
  ctx: KernelContext,
  xIn: Float32Array,
  options: { b: number; wT: Float32Array; name?: string },
): Float32Array {
  const out = ctx.ws.get(options.name ?? "pre", options.b * ctx.f); // [B, F]
  ctx.blas.sgemm(xIn, options.wT, { c: out, m: options.b, n: ctx.f, k: ctx.d, transB: true });
  return out;
}

/**
 * Squared error of xHat against x summed over all entries; writes dLoss/dxHat = 2 (xHat - x) / B
 * into `grad` (the gradient of mean_b sum_d (x - xHat)^2), scaled by `scale`.
 */
export function squaredErrorGrad(
  x: Float32Array,
  xHat: Float32Array,
  options: { b: number; grad: Float32Array; scale?: number; target?: Float32Array },
): number {
  const n = x.length;
  const g = options.grad;
  const c = (2 / options.b) * (options.scale ?? 1);
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const e = xHat[i] - x[i];
    sse += e * e;
    g[i] = c * e;
  }
  return sse;
}

/** out[k] += sum_b m[b, k] for m [B, D]. */
export function addColumnSums(m: Float32Array, out: Float32Array, b: number): void {
  const d = out.length;
  for (let r = 0; r < b; r++) {
    const o = r * d;
    for (let k = 0; k < d; k++) out[k] += m[o + k];
  }
}

/** gBDec[k] -= sum_i gBias[i] wT[i, k]: the encoder-input path of b_dec (x - b_dec feeds W). */
export function subtractEncoderPath(
  gBDec: Float32Array,
  options: { wT: Float32Array; gBias: Float32Array; d: number },
): void {
  const { wT, gBias, d } = options;
  const acc = new Float64Array(d);
  for (let i = 0; i < gBias.length; i++) {
    const s = gBias[i];
    if (s === 0) continue;
    const o = i * d;
    for (let k = 0; k < d; k++) acc[k] += s * wT[o + k];
  }
  for (let k = 0; k < d; k++) gBDec[k] -= acc[k];
}

/** Dense [B, F] latents from an active list (values `val`). */
export function denseLatents(list: ActiveList): Float32Array {
  const f = new Float32Array(list.rows * list.cols);
  for (let j = 0; j < list.n; j++) f[list.row[j] * list.cols + list.col[j]] = list.val[j];
  return f;
}

/** Sum over entries of coef, per column: out[col_j] += coef[j]. */
export function addByColumn(list: ActiveList, coef: Float32Array, out: Float32Array): void {
  const col = list.col;
  for (let j = 0; j < list.n; j++) out[col[j]] += coef[j];
}

/** The engine's active list called `name`, created on first use. */
export function activeList(ctx: KernelContext, name: string): ActiveList {
  let l = ctx.lists.get(name);
  if (!l) {
    l = new ActiveList();
    ctx.lists.set(name, l);
  }
  return l;
}
