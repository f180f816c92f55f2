// The TopK family's shared machinery (TopK, BatchTopK, Matryoshka BatchTopK): ReLU pre-activations,
// per-row (TopK) or batch-wide (BatchTopK) selection of the k largest, AuxK on dead latents, the
// dead-latent clock and BatchTopK's running threshold, for the tfjs reference, the cpu engine
// (hooks of the shared linear step: a per-row heap or a radix select over the batch; ReLU is never
// materialised, selection treats negative pre-activations as the zeros ReLU makes) and the webgpu
// engine. Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { ActiveList } from "../../engine/cpu/active.ts";
import type { FastKernel, KernelContext } from "../../engine/cpu/fast_kernel.ts";
import { globalKth, rowKth } from "../../engine/cpu/select_kth.ts";
import { linearKernel } from "../../engine/cpu/linear_step.ts";
import type { WebGpuKernel } from "../../engine/webgpu/kernel.ts";
import { MAX_PREFIXES } from "../../engine/step_layout.ts";
import { matMul, topkSelect } from "../ste.ts";
import type { LossResult, SaeConfig, TensorMap } from "../types.ts";
import { encoderInput, linearDecode, reconstructionLoss } from "../linear_sae.ts";
import { auxK, auxKKernelTerm, auxKLoss, auxKWebGpuTerm, type AuxSettings } from "./aux_k.ts";
import { tickDeadClock } from "./dead_latents.ts";

/** ReLU of the encoder pre-activations [B, F]. */
export function reluPre(params: TensorMap, x: tf.Tensor2D, sae: SaeConfig): tf.Tensor2D {
  const xIn = encoderInput(x, params.b_dec, sae.pre_encoder_bias);
  return tf.relu(tf.add(matMul(xIn, params.W_enc as tf.Tensor2D), params.b_enc));
}

/** Training loss of TopK (per row) or BatchTopK (across the batch) selection, plus AuxK. */
export function topkFamilyLoss(
  params: TensorMap,
  state: TensorMap,
  x: tf.Tensor2D,
  options: { sae: SaeConfig; batch: boolean; aux: AuxSettings },
): LossResult {
  const r = reluPre(params, x, options.sae);
  const f = topkSelect(r, options.sae.target_l0, { batch: options.batch });
  const xHat = linearDecode(params, f);
  const recon = reconstructionLoss(x, xHat);
  const aux = auxKLoss(r, x, xHat, {
    wDec: params.W_dec as tf.Tensor2D,
    sinceFired: state.since_fired,
    deadTokens: options.aux.dead_tokens,
    k: auxK(options.aux, x.shape[1]),
    alpha: options.aux.aux_alpha,
  });
  return { total: tf.add(recon, aux) as tf.Scalar, terms: { recon, aux }, f, xHat };
}

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
 * BatchTopK's running estimate of the smallest kept activation (state `threshold`, < 0 before the
 * first batch), folded in with `momentum`; inference keeps the activations above it.
 */
export function updateBatchThreshold(ctx: KernelContext, momentum: number): void {
  const act = ctx.latents;
  let minKept = Infinity;
  for (let j = 0; j < act.n; j++) {
    const v = act.val[j];
    if (v > 0 && v < minKept) minKept = v;
  }
  const t = ctx.state.threshold;
  const old = t[0];
  const next = old < 0
    ? minKept
    : fround(fround(old * momentum) + fround(minKept * fround(1 - momentum)));
  if (Number.isFinite(next)) t[0] = next;
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
    terms: (ctx, buffers) => auxKKernelTerm(ctx, buffers, options(ctx)),
    updateState(ctx, b) {
      tickDeadClock(ctx, b);
      if (batch) updateBatchThreshold(ctx, options(ctx).threshold_momentum!);
    },
  });
}

/**
 * The GPU kernel of TopK (`batch` false) or BatchTopK (`batch` true); `prefixes` gives Matryoshka
 * BatchTopK's inner prefix widths (one reconstruction term each, before AuxK's).
 */
export function topkFamilyWebGpu(
  batch: boolean,
  options: (sae: SaeConfig) => AuxSettings & { threshold_momentum?: number },
  prefixes?: (sae: SaeConfig) => number[],
): WebGpuKernel {
  return {
    unsupported(sae) {
      const n = prefixes?.(sae).length ?? 0;
      return n > MAX_PREFIXES
        ? `the GPU engines hold at most ${MAX_PREFIXES} inner prefixes, these options have ${n}`
        : null;
    },
    step(sae, { d }) {
      const o = options(sae);
      const k = sae.target_l0;
      const widths = prefixes?.(sae) ?? [];
      return {
        preEncoderBias: sae.pre_encoder_bias,
        selection: batch
          ? { kind: "batch_topk", k, momentum: o.threshold_momentum! }
          : { kind: "row_topk", k },
        terms: [
          ...(widths.length ? [{ kind: "prefix_recon" as const, widths }] : []),
          auxKWebGpuTerm(o, d, false),
        ],
        deadClock: true,
      };
    },
  };
}
