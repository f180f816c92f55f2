// TopK and BatchTopK on the fast CPU path (hooks of the shared linear step): the same loss, AuxK
// term, dead-latent clocks and running threshold as topk.ts and ../batchtopk/batchtopk.ts, with
// the selection done by a per-row heap (TopK) or a radix select over the batch (BatchTopK).
// ReLU is never materialised: selection treats negative pre-activations as the zeros ReLU makes.
// Shapes: B batch, D d_model, F latents.
import type { ActiveList } from "../../engine/cpu/active.ts";
import type { FastKernel, KernelContext } from "../../engine/cpu/fast_kernel.ts";
import { globalKth, rowKth } from "../../engine/cpu/select_kth.ts";
import { activeList } from "../../engine/cpu/kernel_parts.ts";
import { linearKernel } from "../../engine/cpu/linear_step.ts";
import { auxKTerm } from "../../engine/cpu/auxk.ts";
import { auxK, type AuxSettings, topkOptions } from "./options.ts";

const fround = Math.fround;

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
export function selectTopK(
  ctx: KernelContext,
  r: Float32Array,
  options: { b: number; k: number; batch: boolean; list: ActiveList },
): void {
  const { b, k, batch, list } = options;
  const f = ctx.f;
  list.reset(b, f);
  if (!batch && ctx.ops.wasm?.topkSelect(r, { b, k, list })) return;
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

/** Inference of a BatchTopK-trained SAE: a JumpReLU with one global threshold. */
export function selectAboveThreshold(
  ctx: KernelContext,
  r: Float32Array,
  options: { b: number; list: ActiveList },
): void {
  const { b, list } = options;
  const theta = Math.max(ctx.state.threshold[0], 0);
  list.reset(b, ctx.f);
  for (let row = 0; row < b; row++) {
    list.startRow(row);
    const o = row * ctx.f;
    for (let i = 0; i < ctx.f; i++) if (r[o + i] > theta) list.push(row, i, r[o + i]);
  }
  list.finish();
}

/**
 * Dead-latent clocks (tokens since each latent fired) and, with `momentum`, BatchTopK's running
 * estimate of the smallest kept activation.
 */
export function updateTopKState(ctx: KernelContext, b: number, momentum: number | null): void {
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
  if (momentum !== null) {
    const t = ctx.state.threshold;
    const old = t[0];
    const next = old < 0
      ? minKept
      : fround(fround(old * momentum) + fround(minKept * fround(1 - momentum)));
    if (Number.isFinite(next)) t[0] = next;
  }
}

/** The AuxK term of a TopK-family step with the architecture's options. */
export function topkAuxTerm(
  ctx: KernelContext,
  buffers: { x: Float32Array; xIn: Float32Array; pre: Float32Array; xHat: Float32Array; b: number },
  opts: AuxSettings,
): { values: number[]; backward(): void } {
  const aux = auxKTerm(ctx, buffers, {
    k: auxK(opts, ctx.d),
    alpha: opts.aux_alpha,
    deadTokens: opts.dead_tokens,
    list: activeList(ctx, "aux"),
  });
  return { values: [aux.value], backward: aux.backward };
}

/**
 * The kernel of TopK (`batch` false) or BatchTopK (`batch` true); `options` reads the
 * architecture's AuxK settings (and BatchTopK's threshold momentum) from the config.
 */
export function topkFamilyKernel(
  batch: boolean,
  options: (ctx: KernelContext) => AuxSettings & { threshold_momentum?: number },
): FastKernel {
  return linearKernel({
    preEncoderBias: (ctx) => ctx.sae.pre_encoder_bias,
    select(ctx, pre, { b, act, training }) {
      if (batch && !training) selectAboveThreshold(ctx, pre, { b, list: act });
      else selectTopK(ctx, pre, { b, k: ctx.sae.target_l0, batch, list: act });
    },
    terms: (ctx, buffers) => topkAuxTerm(ctx, buffers, options(ctx)),
    updateState: (ctx, b) =>
      updateTopKState(ctx, b, batch ? options(ctx).threshold_momentum! : null),
  });
}

export const topkKernel: FastKernel = topkFamilyKernel(false, (ctx) => topkOptions(ctx.sae));
