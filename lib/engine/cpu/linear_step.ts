// The one training step every linear SAE kernel shares (W_enc, b_enc, W_dec, b_dec): encoder
// input, encoder GEMM, selection, decode, squared-error gradient, sparse backward and bias
// gradients. An architecture supplies small hooks for what differs: which latents are kept
// (selection), extra loss terms with their gradients, and state updates. Buffers are passed to the
// hooks explicitly; nothing is shared by workspace name.
// Shapes: B batch, D d_model, F latents.
import type { ActiveList } from "./active.ts";
import type { FastKernel, KernelContext, KernelStep } from "./fast_kernel.ts";
import {
  activeList,
  addByColumn,
  addColumnSums,
  encodeOutput,
  encoderGemm,
  encoderInput,
  squaredErrorGrad,
  subtractEncoderPath,
} from "./kernel_parts.ts";

/** The buffers of one step, as the hooks see them. */
export interface StepBuffers {
  /** The batch x [B, D]. */
  x: Float32Array;
  /** Encoder input [B, D]: x - b_dec with the pre-encoder bias, else x itself. */
  xIn: Float32Array;
  /** Encoder pre-activations xIn W_enc + b_enc [B, F]. */
  pre: Float32Array;
  /** Reconstruction [B, D]. */
  xHat: Float32Array;
  /** d loss / d xHat [B, D] of the reconstruction term. */
  dxHat: Float32Array;
  b: number;
  lambda: number;
}

/** Extra loss terms of one step and how they feed the backward pass. */
export interface ExtraTerms {
  /** Term values (batch means), in termNames order after `recon`. */
  values: number[];
  /** Per-latent value added to d loss / d f on every kept entry (e.g. an L1 weight) [F]. */
  add?: Float32Array;
  /**
   * Gradients the shared backward does not know (thresholds, auxiliary losses, norm paths). Runs
   * after the decoder and encoder products and before the b_dec gradient, so whatever it adds to
   * grads.b_enc also reaches b_dec's encoder path.
   */
  backward?(): void;
  /** Fraction of pre-activation entries inside the threshold STE window, for the step's stats. */
  steWindow?: number;
}

export interface LinearHooks {
  /** Whether the encoder sees x - b_dec. */
  preEncoderBias(ctx: KernelContext): boolean;
  /**
   * Fills `act` with the kept latents of the pre-activations (val = f). `training` is false for
   * inference, where an architecture may select differently (BatchTopK's global threshold).
   */
  select(ctx: KernelContext, pre: Float32Array, options: SelectOptions): void;
  /** Loss terms besides the reconstruction; none when absent. */
  terms?(ctx: KernelContext, buffers: StepBuffers, act: ActiveList): ExtraTerms;
  /** Non-trainable state after the update, from ctx.latents. */
  updateState?(ctx: KernelContext, b: number): void;
  /** Projects parameters back onto their domain after the update. */
  constrain?(ctx: KernelContext): void;
}

export interface SelectOptions {
  b: number;
  act: ActiveList;
  training: boolean;
}

function step(
  hooks: LinearHooks,
  ctx: KernelContext,
  x: Float32Array,
  hyper: { b: number; lambda: number },
): KernelStep {
  const { d, params, grads, ops } = ctx;
  const { b, lambda } = hyper;
  const subtract = hooks.preEncoderBias(ctx);
  const act = ctx.latents;
  const xIn = encoderInput(ctx, x, { b, subtract, name: "stepXIn" }); // [B, D]
  const encStart = performance.now();
  const pre = encoderGemm(ctx, xIn, { b, wT: params.W_enc, bias: params.b_enc, name: "stepPre" });
  const encoderMs = performance.now() - encStart;
  hooks.select(ctx, pre, { b, act, training: true });

  const xHat = ctx.ws.get("xHat", b * d); // [B, D]
  ops.decode(act, act.val, { w: params.W_dec, d, out: xHat, bias: params.b_dec });
  const dxHat = ctx.ws.get("dxHat", b * d); // [B, D]
  const sse = squaredErrorGrad(x, xHat, { b, grad: dxHat });
  const extra = hooks.terms?.(ctx, { x, xIn, pre, xHat, dxHat, b, lambda }, act) ?? { values: [] };
  const forwardEnd = performance.now();

  // f = g(pre) with g' = 1 on kept entries: d pre = d f there (plus the per-latent `add`).
  ops.backward(act, {
    dy: dxHat,
    w: params.W_dec,
    gW: grads.W_dec,
    src: xIn,
    gSrc: grads.W_enc,
    d,
    add: extra.add,
  });
  addByColumn(act, act.grad, grads.b_enc);
  extra.backward?.();
  addColumnSums(dxHat, grads.b_dec, b);
  if (subtract) {
    subtractEncoderPath(grads.b_dec, { wT: params.W_enc, gBias: grads.b_enc, d, blas: ctx.blas });
  }
  const steWindow = extra.steWindow;
  return { terms: [sse / b, ...extra.values], sse, forwardEnd, steWindow, encoderMs };
}

/** Inference latents [n, F] and reconstruction [n, D] through the same selection hook. */
function encode(
  hooks: LinearHooks,
  ctx: KernelContext,
  x: Float32Array,
  n: number,
): { f: Float32Array; xHat: Float32Array } {
  const subtract = hooks.preEncoderBias(ctx);
  const xIn = encoderInput(ctx, x, { b: n, subtract, name: "encXIn" });
  const pre = encoderGemm(ctx, xIn, {
    b: n,
    wT: ctx.params.W_enc,
    bias: ctx.params.b_enc,
    name: "encPre",
  });
  const act = activeList(ctx, "encode");
  hooks.select(ctx, pre, { b: n, act, training: false });
  return encodeOutput(ctx, act, n);
}

/** A fast kernel for a linear SAE (W_enc stored transposed) from its hooks. */
export function linearKernel(hooks: LinearHooks): FastKernel {
  return {
    transposed: ["W_enc"],
    step: (ctx, x, hyper) => step(hooks, ctx, x, hyper),
    encode: (ctx, x, n) => encode(hooks, ctx, x, n),
    updateState: hooks.updateState,
    constrain: hooks.constrain,
  };
}
