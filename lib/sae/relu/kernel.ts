// The ReLU SAE on the fast CPU path (hooks of the shared linear step): the same loss as relu.ts
// (decoder-norm-weighted L1, free decoder, encoder sees x itself), with the gradient of the norms
// reaching W_dec.
// Shapes: B batch, D d_model, F latents.
import type { FastKernel, KernelContext } from "../../engine/cpu/fast_kernel.ts";
import { axpy, dot } from "../../engine/cpu/vec.ts";
import { linearKernel } from "../../engine/cpu/linear_step.ts";

/** ||W_dec[i, :]|| for every latent, float32. */
function rowNorms(ctx: KernelContext): Float32Array {
  const { d, f } = ctx;
  const w = ctx.params.W_dec;
  const norms = ctx.ws.get("decNorms", f);
  for (let i = 0; i < f; i++) norms[i] = Math.sqrt(dot(w, i * d, w, i * d, d));
  return norms;
}

export const reluKernel: FastKernel = linearKernel({
  preEncoderBias: () => false,

  select(ctx, pre, { b, act }) {
    const f = ctx.f;
    act.reset(b, f);
    for (let r = 0; r < b; r++) {
      act.startRow(r);
      const o = r * f;
      for (let i = 0; i < f; i++) if (pre[o + i] > 0) act.push(r, i, pre[o + i]);
    }
    act.finish();
  },

  terms(ctx, { b, lambda }, act) {
    const { d, f } = ctx;
    const norms = rowNorms(ctx);
    // sparsity = lambda / B sum_b sum_i f_bi n_i.
    const fSum = new Float64Array(f); // sum_b f[b, i]
    for (let j = 0; j < act.n; j++) fSum[act.col[j]] += act.val[j];
    let l1 = 0;
    for (let i = 0; i < f; i++) l1 += fSum[i] * norms[i];
    // d f gains lambda n_i / B on active entries (ReLU' = 1 there).
    const add = ctx.ws.get("reluAdd", f);
    for (let i = 0; i < f; i++) add[i] = (lambda * norms[i]) / b;
    // Norm path: d n_i / d W_dec[i] = W_dec[i] / n_i, weighted by lambda / B sum_b f.
    const backward = () => {
      const gDec = ctx.grads.W_dec;
      const w = ctx.params.W_dec;
      for (let i = 0; i < f; i++) {
        if (fSum[i] === 0) continue;
        axpy((lambda * fSum[i]) / b / norms[i], w, i * d, gDec, i * d, d);
      }
    };
    return { values: [(lambda * l1) / b], add, backward };
  },
});
