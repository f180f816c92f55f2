// The AuxK auxiliary loss on the fast CPU path (Gao et al. 2024): reconstruct the frozen residual
// e = x - x_hat from the top k_aux positive pre-activations of dead latents, loss
// alpha ||e - e_hat||^2 / ||e - mean(e)||^2, with its gradients into W_dec, W_enc and b_enc.
// Same maths as auxKLoss in lib/sae/shared/aux_k.ts. Shapes: B batch, D d_model, F latents.
import type { ActiveList } from "./active.ts";
import type { KernelContext } from "./fast_kernel.ts";
import { indexedKth } from "./select_kth.ts";
import { addByColumn } from "./kernel_parts.ts";

const fround = Math.fround;

/** Latents whose dead-token clock reached `deadTokens`, and how many. */
export function deadLatents(
  since: Float32Array,
  deadTokens: number,
): { dead: Int32Array; nDead: number } {
  const dead = new Int32Array(since.length);
  let nDead = 0;
  for (let i = 0; i < since.length; i++) if (since[i] >= deadTokens) dead[nDead++] = i;
  return { dead, nDead };
}

/** Per row, the top k among dead latents' positive pre-activations (val = pre). */
function selectAux(
  ctx: KernelContext,
  pre: Float32Array,
  options: { b: number; k: number; dead: Int32Array; nDead: number; list: ActiveList },
): void {
  const { b, k, dead, nDead, list } = options;
  const f = ctx.f;
  list.reset(b, f);
  const heap = ctx.ws.get("auxHeap", k);
  for (let row = 0; row < b; row++) {
    const o = row * f;
    // Non-dead entries count as zeros: with fewer dead latents than k the k-th value is 0.
    const kth = nDead < k
      ? 0
      : Math.max(indexedKth(pre, dead, { offset: o, n: nDead, k, heap }), 0);
    list.startRow(row);
    for (let j = 0; j < nDead; j++) {
      const i = dead[j];
      const v = pre[o + i];
      if (v >= kth && v > 0) list.push(row, i, v);
    }
  }
  list.finish();
}

/**
 * The AuxK term of one step: its value, and a backward that adds its gradients. `list` receives
 * the auxiliary latents; `xIn` is the encoder input the pre-activations came from.
 */
export function auxKTerm(
  ctx: KernelContext,
  buffers: { x: Float32Array; xIn: Float32Array; pre: Float32Array; xHat: Float32Array; b: number },
  options: {
    k: number;
    alpha: number;
    deadTokens: number;
    list: ActiveList;
    /** Multiply alpha by min(n_dead / k, 1) (SynthSAEBench's JumpReLU). */
    scaleByDead?: boolean;
  },
): { value: number; backward(): void } {
  const { d, f, params, grads, ops } = ctx;
  const { x, xIn, pre, xHat, b } = buffers;
  const { list } = options;
  const { dead, nDead } = deadLatents(ctx.state.since_fired, options.deadTokens);
  const k = Math.min(options.k, f);
  const alpha = options.scaleByDead
    ? options.alpha * Math.fround(Math.min(Math.fround(nDead / k), 1))
    : options.alpha;
  list.reset(b, f);
  list.finish();
  if (k === 0 || alpha === 0 || nDead === 0) return { value: 0, backward: () => {} };
  selectAux(ctx, pre, { b, k, dead, nDead, list });
  const e = ctx.ws.get("auxE", b * d); // [B, D] residual (frozen)
  for (let i = 0; i < e.length; i++) e[i] = x[i] - xHat[i];
  const eHat = ctx.ws.get("auxEHat", b * d); // [B, D]
  ops.decode(list, list.val, { w: params.W_dec, d, out: eHat });
  const mean = new Float64Array(d);
  for (let row = 0; row < b; row++) for (let c = 0; c < d; c++) mean[c] += e[row * d + c];
  let spread = 0;
  let err = 0;
  for (let row = 0; row < b; row++) {
    for (let c = 0; c < d; c++) {
      const i = row * d + c;
      const s = e[i] - mean[c] / b;
      spread += s * s;
      const q = e[i] - eHat[i];
      err += q * q;
    }
  }
  spread = fround(fround(spread) + 1e-12);
  const value = (alpha * err) / spread;
  // d aux / d eHat = alpha * 2 (eHat - e) / spread, written over e.
  const c = (2 * alpha) / spread;
  const deHat = e;
  for (let i = 0; i < e.length; i++) deHat[i] = c * (eHat[i] - e[i]);
  const backward = () => {
    ops.accumulate(list, list.val, { src: deHat, g: grads.W_dec, d });
    ops.dots(list, { a: deHat, w: params.W_dec, d, out: list.grad });
    ops.accumulate(list, list.grad, { src: xIn, g: grads.W_enc, d });
    addByColumn(list, list.grad, grads.b_enc);
  };
  return { value, backward };
}
