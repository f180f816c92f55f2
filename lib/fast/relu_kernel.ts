// The ReLU SAE on the fast CPU path: the same loss as lib/sae/relu.ts (decoder-norm-weighted L1,
// free decoder, encoder sees x itself), with the gradient of the norms reaching W_dec.
// Shapes: B batch, D d_model, F latents.
import type { FastKernel, KernelContext } from "./fast_kernel.ts";
import type { ActiveList } from "./active.ts";
import { axpy, dot } from "./_vec.ts";
import {
  activeList,
  addByColumn,
  addColumnSums,
  encodeOutput,
  encoderGemm,
  squaredErrorGrad,
} from "./_common.ts";

/** f = ReLU(x W_enc + b_enc) as an active list (val = f). */
function forward(
  ctx: KernelContext,
  x: Float32Array,
  b: number,
  list: ActiveList,
  name: string,
): void {
  const pre = encoderGemm(ctx, x, { b, wT: ctx.params.W_enc, bias: ctx.params.b_enc, name }); // [B, F]
  const f = ctx.f;
  list.reset(b, f);
  for (let r = 0; r < b; r++) {
    list.startRow(r);
    scanRow(pre, r, { f, list });
  }
  list.finish();
}

function scanRow(
  pre: Float32Array,
  r: number,
  options: { f: number; list: ActiveList },
): void {
  const { f, list } = options;
  const o = r * f;
  for (let i = 0; i < f; i++) {
    const v = pre[o + i];
    if (v > 0) list.push(r, i, v);
  }
}

/** ||W_dec[i, :]|| for every latent, float32. */
function rowNorms(ctx: KernelContext): Float32Array {
  const { d, f } = ctx;
  const w = ctx.params.W_dec;
  const norms = ctx.ws.get("decNorms", f);
  for (let i = 0; i < f; i++) norms[i] = Math.sqrt(dot(w, i * d, w, i * d, d));
  return norms;
}

export const reluKernel: FastKernel = {
  transposed: ["W_enc"],

  step(ctx, x, { b, lambda }) {
    const { d, f, params, grads, ops } = ctx;
    const act = ctx.latents;
    forward(ctx, x, b, act, "pre");
    const norms = rowNorms(ctx);

    const xHat = ctx.ws.get("xHat", b * d); // [B, D]
    ops.decode(act, act.val, { w: params.W_dec, d, out: xHat, bias: params.b_dec });
    const dxHat = ctx.ws.get("dxHat", b * d); // [B, D]
    const sse = squaredErrorGrad(x, xHat, { b, grad: dxHat });
    // sparsity = lambda / B sum_b sum_i f_bi n_i.
    const fSum = new Float64Array(f); // sum_b f[b, i]
    for (let j = 0; j < act.n; j++) fSum[act.col[j]] += act.val[j];
    let l1 = 0;
    for (let i = 0; i < f; i++) l1 += fSum[i] * norms[i];
    const sparsity = (lambda * l1) / b;
    const forwardEnd = performance.now();

    // d f = dxHat . W_dec[i] + lambda n_i / B on active entries (ReLU' = 1 there).
    const add = ctx.ws.get("reluAdd", f); // lambda n_i / B
    for (let i = 0; i < f; i++) add[i] = (lambda * norms[i]) / b;
    ops.backward(act, {
      dy: dxHat,
      w: params.W_dec,
      gW: grads.W_dec,
      src: x,
      gSrc: grads.W_enc,
      d,
      add,
    });
    // Norm path: d n_i / d W_dec[i] = W_dec[i] / n_i, weighted by lambda / B sum_b f.
    const gDec = grads.W_dec;
    const w = params.W_dec;
    for (let i = 0; i < f; i++) {
      if (fSum[i] === 0) continue;
      axpy((lambda * fSum[i]) / b / norms[i], w, i * d, gDec, i * d, d);
    }
    addByColumn(act, act.grad, grads.b_enc);
    addColumnSums(dxHat, grads.b_dec, b);
    return { terms: [sse / b, sparsity], sse, forwardEnd };
  },

  encode(ctx, x, n) {
    const list = activeList(ctx, "encode");
    forward(ctx, x, n, list, "encPre");
    return encodeOutput(ctx, list, n);
  },
};
