// TopK and BatchTopK on the fast CPU path: the same loss, AuxK term, dead-latent clocks and
// running threshold as lib/sae/topk.ts and lib/sae/batchtopk.ts, with the selection done by a
// per-row heap (TopK) or a radix select over the batch (BatchTopK) and sparse products after it.
// Shapes: B batch, D d_model, F latents.
import type { ActiveList } from "./active.ts";
import type { FastKernel, KernelContext } from "./fast_kernel.ts";
import { globalKth, indexedKth, rowKth } from "./select_kth.ts";
import {
  activeList,
  addByColumn,
  addColumnSums,
  encodeOutput,
  encoderGemm,
  encoderInput,
  squaredErrorGrad,
  subtractEncoderPath,
} from "./_common.ts";
import { auxK } from "../sae/topk.ts";

const fround = Math.fround;

interface TopKOptions {
  aux_alpha: number;
  aux_k: number | null;
  dead_tokens: number;
}

/**
 * Encoder pre-activations xIn W_enc + b_enc [B, F]. ReLU is never materialised: selection treats
 * negative entries as the zeros ReLU would make them (a [B, F] write pass after the GEMM costs
 * more than the selection itself).
 */
function encoderPre(ctx: KernelContext, x: Float32Array, b: number, name: string): Float32Array {
  const xIn = encoderInput(ctx, x, { b, subtract: ctx.sae.pre_encoder_bias, name: `${name}XIn` });
  return encoderGemm(ctx, xIn, {
    b,
    wT: ctx.params.W_enc,
    bias: ctx.params.b_enc,
    name: `${name}Pre`,
  });
}

/** Appends the entries of row `row` (offset o) with v >= kth and v > 0. */
function keepRow(
  r: Float32Array,
  o: number,
  options: { row: number; f: number; kth: number; list: ActiveList },
): void {
  const { row, f, kth, list } = options;
  for (let i = 0; i < f; i++) {
    const v = r[o + i];
    if (v >= kth && v > 0) list.push(row, i, v);
  }
}

/** Fills `list` with the kept entries of r: k per row, or k * B over the batch. */
function select(
  ctx: KernelContext,
  r: Float32Array,
  options: { b: number; k: number; batch: boolean; list: ActiveList },
): void {
  const { b, k, batch, list } = options;
  const f = ctx.f;
  list.reset(b, f);
  const heap = ctx.ws.get("heap", k);
  const global = batch ? globalKth(r, Math.min(k * b, r.length)) : 0;
  for (let row = 0; row < b; row++) {
    const o = row * f;
    const kth = batch ? global : Math.max(rowKth(r, o, { length: f, k, heap }), 0);
    list.startRow(row);
    keepRow(r, o, { row, f, kth, list });
  }
  list.finish();
}

/** The AuxK selection: per row, the top k among dead latents' positive r. */
function selectAux(
  ctx: KernelContext,
  r: Float32Array,
  options: { b: number; k: number; dead: Int32Array; nDead: number; list: ActiveList },
): void {
  const { b, k, dead, nDead, list } = options;
  const f = ctx.f;
  list.reset(b, f);
  const heap = ctx.ws.get("auxHeap", k);
  for (let row = 0; row < b; row++) {
    const o = row * f;
    // Non-dead entries count as zeros: with fewer dead latents than k the k-th value is 0.
    const kth = nDead < k ? 0 : Math.max(indexedKth(r, dead, { offset: o, n: nDead, k, heap }), 0);
    list.startRow(row);
    for (let j = 0; j < nDead; j++) {
      const i = dead[j];
      const v = r[o + i];
      if (v >= kth && v > 0) list.push(row, i, v);
    }
  }
  list.finish();
}

function makeTopKKernel(batch: boolean): FastKernel {
  const options = (ctx: KernelContext): TopKOptions => batch ? ctx.sae.batchtopk : ctx.sae.topk;
  return {
    transposed: ["W_enc"],

    step(ctx, x, { b }) {
      const { d, f, params, grads, ops, sae } = ctx;
      const opts = options(ctx);
      const act = ctx.latents;
      const r = encoderPre(ctx, x, b, "step"); // [B, F], ReLU implicit
      select(ctx, r, { b, k: sae.target_l0, batch, list: act });

      const xHat = ctx.ws.get("xHat", b * d); // [B, D]
      ops.decode(act, act.val, { w: params.W_dec, d, out: xHat, bias: params.b_dec });
      const dxHat = ctx.ws.get("dxHat", b * d); // [B, D]
      const sse = squaredErrorGrad(x, xHat, { b, grad: dxHat });

      // AuxK over dead latents (not fired for dead_tokens tokens).
      const since = ctx.state.since_fired;
      const dead = new Int32Array(f);
      let nDead = 0;
      for (let i = 0; i < f; i++) if (since[i] >= opts.dead_tokens) dead[nDead++] = i;
      const kAux = Math.min(auxK(opts, d), f);
      let aux = 0;
      const auxList = activeList(ctx, "aux");
      auxList.reset(b, f);
      auxList.finish();
      if (kAux > 0 && opts.aux_alpha > 0 && nDead > 0) {
        selectAux(ctx, r, { b, k: kAux, dead, nDead, list: auxList });
        const e = ctx.ws.get("auxE", b * d); // [B, D] residual (frozen)
        for (let i = 0; i < e.length; i++) e[i] = x[i] - xHat[i];
        const eHat = ctx.ws.get("auxEHat", b * d); // [B, D]
        ops.decode(auxList, auxList.val, { w: params.W_dec, d, out: eHat });
        const mean = new Float64Array(d);
        for (let row = 0; row < b; row++) for (let k = 0; k < d; k++) mean[k] += e[row * d + k];
        let spread = 0;
        let err = 0;
        for (let row = 0; row < b; row++) {
          for (let k = 0; k < d; k++) {
            const i = row * d + k;
            const s = e[i] - mean[k] / b;
            spread += s * s;
            const q = e[i] - eHat[i];
            err += q * q;
          }
        }
        spread = fround(fround(spread) + 1e-12);
        aux = (opts.aux_alpha * err) / spread;
        // d aux / d eHat = alpha * 2 (eHat - e) / spread.
        const c = (2 * opts.aux_alpha) / spread;
        const deHat = e;
        for (let i = 0; i < e.length; i++) deHat[i] = c * (eHat[i] - e[i]);
        ops.accumulate(auxList, auxList.val, { src: deHat, g: grads.W_dec, d });
        ops.dots(auxList, { a: deHat, w: params.W_dec, d, out: auxList.grad });
      }

      const forwardEnd = performance.now();
      const xIn = sae.pre_encoder_bias ? ctx.ws.get("stepXIn", b * d) : x;
      ops.backward(act, {
        dy: dxHat,
        w: params.W_dec,
        gW: grads.W_dec,
        src: xIn,
        gSrc: grads.W_enc,
        d,
      });
      addByColumn(act, act.grad, grads.b_enc);
      if (auxList.n > 0) {
        ops.accumulate(auxList, auxList.grad, { src: xIn, g: grads.W_enc, d });
        addByColumn(auxList, auxList.grad, grads.b_enc);
      }
      addColumnSums(dxHat, grads.b_dec, b);
      if (sae.pre_encoder_bias) {
        subtractEncoderPath(grads.b_dec, { wT: params.W_enc, gBias: grads.b_enc, d });
      }
      return { terms: [sse / b, aux], sse, forwardEnd };
    },

    encode(ctx, x, n) {
      const r = encoderPre(ctx, x, n, "enc");
      const list = activeList(ctx, "encode");
      if (batch) {
        const theta = Math.max(ctx.state.threshold[0], 0);
        list.reset(n, ctx.f);
        for (let row = 0; row < n; row++) {
          list.startRow(row);
          const o = row * ctx.f;
          for (let i = 0; i < ctx.f; i++) if (r[o + i] > theta) list.push(row, i, r[o + i]);
        }
        list.finish();
      } else {
        select(ctx, r, { b: n, k: ctx.sae.target_l0, batch: false, list });
      }
      return encodeOutput(ctx, list, n);
    },

    updateState(ctx, b) {
      const act = ctx.latents;
      const since = ctx.state.since_fired;
      const fired = new Uint8Array(ctx.f);
      let minKept = Infinity;
      for (let j = 0; j < act.n; j++) {
        const v = act.val[j];
        if (v > 0) {
          fired[act.col[j]] = 1;
          if (v < minKept) minKept = v;
        }
      }
      for (let i = 0; i < ctx.f; i++) since[i] = fired[i] ? 0 : since[i] + b;
      if (batch) {
        const t = ctx.state.threshold;
        const m = ctx.sae.batchtopk.threshold_momentum;
        const old = t[0];
        const next = old < 0 ? minKept : fround(fround(old * m) + fround(minKept * fround(1 - m)));
        if (Number.isFinite(next)) t[0] = next;
      }
    },
  };
}

export const topkKernel: FastKernel = makeTopKKernel(false);
export const batchtopkKernel: FastKernel = makeTopKKernel(true);
