// Dense pieces shared by the fast kernels: encoder input and pre-activation GEMM, reconstruction
// loss and its gradient, bias gradients, dense latents for inference. Private to lib/engine/cpu/.
// Shapes: B batch, D d_model, F latents.
import type { KernelContext } from "./fast_kernel.ts";
import { ActiveList } from "./active.ts";
import { addRow, axpy } from "./vec.ts";
import type { Blas } from "./blas.ts";

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
  out.set(x.subarray(0, options.b * d));
  const neg = ctx.ws.get("negBDec", d);
  for (let k = 0; k < d; k++) neg[k] = -bDec[k];
  for (let r = 0; r < options.b; r++) addRow(neg, out, r * d, d);
  return out;
}

/**
 * xIn [B, D] @ wT^T (+ bias [F] on every row) with wT [F, D] stored transposed: the encoder
 * pre-activations [B, F]. The bias is written first and the GEMM accumulates onto it, so no
 * JavaScript pass touches the [B, F] buffer.
 */
export function encoderGemm(
  ctx: KernelContext,
  xIn: Float32Array,
  options: { b: number; wT: Float32Array; bias?: Float32Array; name?: string },
): Float32Array {
  const { b, bias } = options;
  const out = ctx.ws.get(options.name ?? "pre", b * ctx.f); // [B, F]
  if (bias) { for (let r = 0; r < b; r++) out.set(bias, r * ctx.f); }
  ctx.blas.sgemm(xIn, options.wT, {
    c: out,
    m: b,
    n: ctx.f,
    k: ctx.d,
    transB: true,
    beta: bias ? 1 : 0,
  });
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
  const acc = new Float32Array(d);
  for (let r = 0; r < b; r++) addRow(m.subarray(r * d, (r + 1) * d), acc, 0, d);
  for (let k = 0; k < d; k++) out[k] += acc[k];
}

/**
 * gBDec[k] -= sum_i gBias[i] wT[i, k]: the encoder-input path of b_dec (x - b_dec feeds W), as
 * a [1, F] x [F, D] product on the GEMM when `blas` is given (one streaming read of wT, ~8x the
 * JavaScript row loop at 768 x 16384), else row by row, skipping latents without gradient.
 */
export function subtractEncoderPath(
  gBDec: Float32Array,
  options: { wT: Float32Array; gBias: Float32Array; d: number; blas?: Blas },
): void {
  const { wT, gBias, d, blas } = options;
  if (blas) {
    blas.sgemm(gBias, wT, { c: gBDec, m: 1, n: d, k: gBias.length, alpha: -1, beta: 1 });
    return;
  }
  const acc = new Float32Array(d);
  for (let i = 0; i < gBias.length; i++) if (gBias[i] !== 0) axpy(gBias[i], wT, i * d, acc, 0, d);
  for (let k = 0; k < d; k++) gBDec[k] -= acc[k];
}

/** Dense [B, F] latents from an active list (values `val`). */
export function denseLatents(list: ActiveList): Float32Array {
  const f = new Float32Array(list.rows * list.cols);
  for (let j = 0; j < list.n; j++) f[list.row[j] * list.cols + list.col[j]] = list.val[j];
  return f;
}

/** What Engine.encode returns for a list of latents: dense latents [n, F] and x_hat [n, D]. */
export function encodeOutput(
  ctx: KernelContext,
  list: ActiveList,
  n: number,
): { f: Float32Array; xHat: Float32Array } {
  const xHat = new Float32Array(n * ctx.d);
  ctx.ops.decode(list, list.val, {
    w: ctx.params.W_dec,
    d: ctx.d,
    out: xHat,
    bias: ctx.params.b_dec,
  });
  return { f: denseLatents(list), xHat };
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
    l = new ActiveList(1024, ctx.memory);
    ctx.lists.set(name, l);
  }
  return l;
}
