// Matryoshka BatchTopK on the fast CPU path (hooks of the shared linear step): BatchTopK's
// selection, AuxK and threshold state, plus one reconstruction term per inner prefix. A latent of
// group g is in every prefix m >= g, so its gradient sees dy_g = sum over inner m >= g of
// dxHat_m on top of the full reconstruction's dxHat (which the shared step applies): one extra
// sparse backward per group, over that group's kept entries only.
// Shapes: B batch, D d_model, F latents, M prefixes.
import type { ActiveList } from "../../engine/cpu/active.ts";
import type { FastKernel } from "../../engine/cpu/fast_kernel.ts";
import {
  activeList,
  addByColumn,
  addColumnSums,
  squaredErrorGrad,
} from "../../engine/cpu/kernel_parts.ts";
import { linearKernel } from "../../engine/cpu/linear_step.ts";
import { addRow } from "../../engine/cpu/vec.ts";
import { auxKKernelTerm } from "../shared/aux_k.ts";
import { tickDeadClock } from "../shared/dead_latents.ts";
import { selectAboveThreshold, selectTopK, updateBatchThreshold } from "../shared/topk_family.ts";
import { matryoshkaOptions, prefixWidths } from "./options.ts";

/** The kept entries of `act` whose latent lies in [lo, hi), as their own list. */
function groupList(act: ActiveList, lo: number, hi: number, out: ActiveList): ActiveList {
  out.reset(act.rows, act.cols);
  for (let r = 0; r < act.rows; r++) {
    out.startRow(r);
    for (let j = act.rowStart[r]; j < act.rowStart[r + 1]; j++) {
      const i = act.col[j];
      if (i >= lo && i < hi) out.push(r, i, act.val[j]);
    }
  }
  out.finish();
  return out;
}

export const matryoshkaKernel: FastKernel = linearKernel({
  preEncoderBias: (ctx) => ctx.sae.pre_encoder_bias,

  select(ctx, pre, { b, act, training }) {
    if (!training) selectAboveThreshold(ctx, pre, { b, list: act });
    else selectTopK(ctx, pre, { b, k: ctx.sae.target_l0, batch: true, list: act });
  },

  terms(ctx, buffers, act) {
    const { d, params, grads, ops } = ctx;
    const { x, xIn, b } = buffers;
    const opts = matryoshkaOptions(ctx.sae);
    const widths = prefixWidths(ctx.f, opts.group_fractions);
    const inner = widths.length - 1;
    const lists = Array.from({ length: inner }, (_, m) => activeList(ctx, `matryoshka${m}`));
    // Cumulative reconstruction of prefix m: b_dec + sum over groups g <= m of their latents.
    const running = ctx.ws.get("matryoshkaXHat", b * d); // [B, D]
    for (let r = 0; r < b; r++) running.set(params.b_dec, r * d);
    const part = ctx.ws.get("matryoshkaPart", b * d); // [B, D]
    const dys: Float32Array[] = []; // dxHat_m of each inner prefix, [B, D] each
    const values: number[] = [];
    for (let m = 0; m < inner; m++) {
      const group = groupList(act, m === 0 ? 0 : widths[m - 1], widths[m], lists[m]);
      ops.decode(group, group.val, { w: params.W_dec, d, out: part });
      addRow(part, running, 0, b * d);
      const dy = ctx.ws.get(`matryoshkaDy${m}`, b * d);
      values.push(squaredErrorGrad(x, running, { b, grad: dy }) / b);
      dys.push(dy);
    }
    // dy_g = sum over inner m >= g of dxHat_m, accumulated from the widest inner prefix down.
    for (let m = inner - 2; m >= 0; m--) addRow(dys[m + 1], dys[m], 0, b * d);
    const aux = auxKKernelTerm(ctx, buffers, opts);
    const backward = () => {
      for (let g = 0; g < inner; g++) {
        const group = lists[g];
        ops.backward(group, {
          dy: dys[g],
          w: params.W_dec,
          gW: grads.W_dec,
          src: xIn,
          gSrc: grads.W_enc,
          d,
        });
        addByColumn(group, group.grad, grads.b_enc);
      }
      // b_dec reaches every inner prefix's reconstruction: sum of their dxHat = dy_0.
      if (inner > 0) addColumnSums(dys[0], grads.b_dec, b);
      aux.backward();
    };
    return { values: [...values, ...aux.values], backward };
  },

  updateState(ctx, b) {
    tickDeadClock(ctx, b);
    updateBatchThreshold(ctx, matryoshkaOptions(ctx.sae).threshold_momentum);
  },
});
