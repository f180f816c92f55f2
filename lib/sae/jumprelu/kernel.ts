// JumpReLU on the fast CPU path (hooks of the shared linear step): the same loss and
// straight-through gradients as jumprelu.ts + lib/sae/ste.ts, computed from the active
// (pi > theta) and near-threshold (|pi - theta| < eps / 2) entries only.
// Shapes: B batch, D d_model, F latents.
import type { ActiveList } from "../../engine/cpu/active.ts";
import type { FastKernel, KernelContext } from "../../engine/cpu/fast_kernel.ts";
import { activeList, addByColumn } from "../../engine/cpu/kernel_parts.ts";
import { type ExtraTerms, linearKernel, type StepBuffers } from "../../engine/cpu/linear_step.ts";
import { jumpreluOptions, steBandwidth, thresholdValues } from "./options.ts";
import { auxKTerm } from "../../engine/cpu/auxk.ts";
import { auxK } from "../shared/aux_k.ts";
import { tickDeadClock } from "../shared/dead_latents.ts";

const fround = Math.fround;

/** theta [F] from the trainable parameter, in the workspace. */
function thresholds(ctx: KernelContext): Float32Array {
  return thresholdValues(ctx.params, ctx.ws.get("theta", ctx.f));
}

/** The STE bandwidth: the option, or the value resolved from the data (bandwidth_unit). */
function bandwidthOf(ctx: KernelContext): number {
  return steBandwidth(ctx.sae, ctx.state.bandwidth?.[0]);
}

/** Rectangle kernel K((z - theta) / eps) != 0, evaluated in float32 as tfjs does. */
function inKernel(z: number, theta: number, eps: number): boolean {
  const u = fround(fround(z - theta) / eps);
  return u > -0.5 && u < 0.5;
}

/** One row of the forward pass over pi [F]: active where pi > theta, near where K != 0. */
function scanRow(
  pre: Float32Array,
  o: number,
  row: { r: number; f: number; theta: Float32Array; eps: number },
  act: ActiveList,
  near: ActiveList | undefined,
): void {
  const { r, f, theta, eps } = row;
  for (let i = 0; i < f; i++) {
    const pi = pre[o + i];
    const th = theta[i];
    if (pi > th) act.push(r, i, pi);
    if (near && Math.abs(pi - th) < eps && inKernel(pi, th, eps)) near.push(r, i, pi);
  }
}

/** Fills `act` with pi > theta entries (val = pi) and `near` with K != 0 entries (val = pi). */
function forward(
  ctx: KernelContext,
  pre: Float32Array,
  options: { b: number; theta: Float32Array; act: ActiveList; near?: ActiveList },
): void {
  const { b, theta, act, near } = options;
  const f = ctx.f;
  const eps = bandwidthOf(ctx);
  if (ctx.ops.wasm) return ctx.ops.wasm.thresholdSelect(pre, { b, theta, eps, act, near });
  const row = { r: 0, f, theta, eps };
  act.reset(b, f);
  near?.reset(b, f);
  for (let r = 0; r < b; r++) {
    act.startRow(r);
    near?.startRow(r);
    row.r = r;
    scanRow(pre, r * f, row, act, near);
  }
  act.finish();
  near?.finish();
}

/**
 * The step penalty and d penalty / d H(z_bi - theta_i) per latent i (the same for every token):
 * lambda L0, lambda (L0 / target - 1)^2, or lambda sum_i p_i (1 + p_i / s) with p_i = H_i / B.
 */
function stepPenaltyValue(
  sae: KernelContext["sae"],
  options: { hCount: Float64Array; b: number; lambda: number },
): { value: number; dH: Float64Array } {
  const { hCount, b, lambda } = options;
  const opts = jumpreluOptions(sae);
  const dH = new Float64Array(hCount.length);
  let hSum = 0;
  for (const h of hCount) hSum += h;
  const l0 = hSum / b;
  if (opts.penalty === "quadratic_frequency") {
    const s = opts.frequency_scale;
    let value = 0;
    for (let i = 0; i < hCount.length; i++) {
      const p = hCount[i] / b;
      value += p * (1 + p / s);
      dH[i] = (lambda * (1 + (2 * p) / s)) / b;
    }
    return { value: lambda * value, dH };
  }
  if (opts.penalty === "quadratic") {
    const rel = l0 / sae.target_l0 - 1;
    dH.fill((2 * lambda * rel) / sae.target_l0 / b);
    return { value: lambda * rel * rel, dH };
  }
  dH.fill(lambda / b);
  return { value: lambda * l0, dH };
}

/** The step penalty (L0, quadratic or quadratic-frequency) through the step STE, and d theta. */
function stepPenalty(ctx: KernelContext, buffers: StepBuffers, act: ActiveList): ExtraTerms {
  const { dxHat, b, lambda } = buffers;
  const { d, f, params, grads, sae, ops } = ctx;
  const opts = jumpreluOptions(sae);
  const eps = bandwidthOf(ctx);
  const near = activeList(ctx, "near");
  const theta = thresholds(ctx); // [F]

  // H(z - theta) with z = pi (pre) or f (post): per-latent counts of H = 1 and of K != 0.
  const hCount = new Float64Array(f); // entries with z > theta, per latent
  for (let j = 0; j < act.n; j++) hCount[act.col[j]]++;
  const kCount = new Float64Array(f); // entries with K((z - theta) / eps) != 0
  if (opts.step_input === "pre") {
    for (let j = 0; j < near.n; j++) kCount[near.col[j]]++;
  } else {
    for (let j = 0; j < near.n; j++) if (near.val[j] > theta[near.col[j]]) kCount[near.col[j]]++;
    for (let i = 0; i < f; i++) {
      const inactive = b - hCount[i]; // f = 0 on these
      if (inKernel(0, theta[i], eps)) kCount[i] += inactive;
      if (0 > theta[i]) hCount[i] += inactive;
    }
  }
  const { value: sparsity, dH } = stepPenaltyValue(sae, { hCount, b, lambda });

  // Threshold: JumpReLU STE -(theta / eps) K on d f, step STE -(1 / eps) K on d H.
  const backward = () => {
    ops.dots(near, { a: dxHat, w: params.W_dec, d, out: near.grad });
    const dTheta = new Float64Array(f);
    for (let j = 0; j < near.n; j++) dTheta[near.col[j]] += near.grad[j];
    const log = opts.threshold_param === "log";
    const g = grads[log ? "log_threshold" : "threshold"];
    for (let i = 0; i < f; i++) {
      const th = theta[i];
      const dt = dTheta[i] * (-th / eps) + dH[i] * (-1 / eps) * kCount[i];
      g[i] = log ? dt * th : dt;
    }
  };
  return { values: [sparsity], backward };
}

/**
 * lambda / B sum_b sum_i tanh(c f_bi) (Anthropic, January 2025) through the JumpReLU STE: the
 * penalty's gradient dS/df = lambda c sech^2(c f) / B reaches the encoder on active entries
 * (f = pi there) and the thresholds through -(theta / eps) K on every near-threshold entry,
 * where inactive entries have f = 0 and so dS/df = lambda c / B.
 */
function tanhPenalty(ctx: KernelContext, buffers: StepBuffers, act: ActiveList): ExtraTerms {
  const { dxHat, xIn, b, lambda } = buffers;
  const { d, f, params, grads, ops } = ctx;
  const opts = jumpreluOptions(ctx.sae);
  const c = opts.tanh_scale;
  const eps = bandwidthOf(ctx);
  const near = activeList(ctx, "near");
  const theta = thresholds(ctx); // [F]
  const dS = act.grad2; // dS/df per active entry
  let sum = 0;
  for (let j = 0; j < act.n; j++) {
    const t = Math.tanh(c * act.val[j]);
    sum += t;
    dS[j] = (lambda * c * (1 - t * t)) / b;
  }
  const backward = () => {
    // Encoder path: f = pi on active entries, so d pi gains dS/df.
    ops.accumulate(act, dS, { src: xIn, g: grads.W_enc, d });
    addByColumn(act, dS, grads.b_enc);
    // Threshold: -(theta / eps) K times d f = dxHat . W_dec + dS/df on near entries.
    ops.dots(near, { a: dxHat, w: params.W_dec, d, out: near.grad });
    const dTheta = new Float64Array(f);
    for (let j = 0; j < near.n; j++) {
      const i = near.col[j];
      const fv = near.val[j] > theta[i] ? near.val[j] : 0;
      const t = Math.tanh(c * fv);
      dTheta[i] += near.grad[j] + (lambda * c * (1 - t * t)) / b;
    }
    const log = opts.threshold_param === "log";
    const g = grads[log ? "log_threshold" : "threshold"];
    for (let i = 0; i < f; i++) {
      const dt = dTheta[i] * (-theta[i] / eps);
      g[i] = log ? dt * theta[i] : dt;
    }
  };
  return { values: [(lambda * sum) / b], backward };
}

/**
 * Anthropic's pre-activation loss, alpha / B sum_b sum_i ReLU(theta_i - pi_bi) over dead latents
 * (or all): d theta_i = +alpha / B per entry below its threshold, d pi_bi = -alpha / B there. The
 * entries below go into an active list, so the W_enc gradient is one ops.accumulate (sparse, or a
 * GEMM when most entries are below, as for the all-latents variant).
 */
function preActLoss(ctx: KernelContext, buffers: StepBuffers): ExtraTerms {
  const { xIn, pre, b } = buffers;
  const { d, f, grads, ops } = ctx;
  const opts = jumpreluOptions(ctx.sae);
  const c = opts.pre_act_alpha / b;
  const theta = thresholds(ctx);
  const since = ctx.state.since_fired;
  const counted = new Uint8Array(f);
  for (let i = 0; i < f; i++) {
    counted[i] = !opts.pre_act_dead_only || since[i] >= opts.dead_tokens ? 1 : 0;
  }
  const list = activeList(ctx, "preAct"); // entries with pi < theta on counted latents, val = -c
  list.reset(b, f);
  let total = 0;
  for (let r = 0; r < b; r++) {
    list.startRow(r);
    const o = r * f;
    for (let i = 0; i < f; i++) {
      const gap = theta[i] - pre[o + i];
      if (counted[i] && gap > 0) {
        total += gap;
        list.push(r, i, -c);
      }
    }
  }
  list.finish();
  const backward = () => {
    const log = opts.threshold_param === "log";
    const g = grads[log ? "log_threshold" : "threshold"];
    for (let j = 0; j < list.n; j++) {
      const i = list.col[j];
      g[i] += c * (log ? theta[i] : 1);
    }
    addByColumn(list, list.val, grads.b_enc);
    ops.accumulate(list, list.val, { src: xIn, g: grads.W_enc, d });
  };
  return { values: [c * total], backward };
}

export const jumpreluKernel: FastKernel = linearKernel({
  preEncoderBias: (ctx) => ctx.sae.pre_encoder_bias,

  select(ctx, pre, { b, act, training }) {
    const theta = thresholds(ctx);
    forward(ctx, pre, { b, theta, act, near: training ? activeList(ctx, "near") : undefined });
  },

  terms(ctx, buffers, act) {
    const opts = jumpreluOptions(ctx.sae);
    const parts: ExtraTerms[] = [
      opts.penalty === "tanh" ? tanhPenalty(ctx, buffers, act) : stepPenalty(ctx, buffers, act),
    ];
    if (opts.aux_alpha > 0) {
      // AuxK recipe on dead latents (the topk family's term, weighted by min(n_dead / k_aux, 1)).
      const aux = auxKTerm(ctx, buffers, {
        k: auxK(opts, ctx.d),
        alpha: opts.aux_alpha,
        deadTokens: opts.dead_tokens,
        list: activeList(ctx, "aux"),
        scaleByDead: true,
      });
      parts.push({ values: [aux.value], backward: aux.backward });
    }
    if (opts.pre_act_alpha > 0) parts.push(preActLoss(ctx, buffers));
    // In order: the penalty's backward assigns the threshold gradient, later parts add to it.
    return {
      values: parts.flatMap((p) => p.values),
      backward: () => parts.forEach((p) => p.backward?.()),
      // Health: the near-threshold entries select() listed are the STE window (a count, no pass).
      steWindow: activeList(ctx, "near").n / (buffers.b * ctx.f),
    };
  },

  updateState(ctx, b) {
    if (ctx.state.since_fired) tickDeadClock(ctx, b);
  },

  constrain(ctx) {
    if (jumpreluOptions(ctx.sae).threshold_param !== "linear") return;
    const t = ctx.params.threshold;
    for (let i = 0; i < t.length; i++) t[i] = Math.max(t[i], fround(1e-6));
  },
});
