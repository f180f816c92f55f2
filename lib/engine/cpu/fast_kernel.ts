// The per-architecture contract of the fast CPU engine: one forward + backward pass on host
// Float32Arrays writing every gradient, plus inference and non-trainable state. Types only.
// Shapes: B batch, D d_model, F latents.
import type { SaeConfig } from "../types.ts";
import type { StepHyper } from "../engine.ts";
import type { ActiveList } from "./active.ts";
import type { ActiveOps } from "./active_ops.ts";
import type { Blas } from "./blas.ts";
import type { Workspace } from "./workspace.ts";
import type { HostMemory } from "./host_memory.ts";

export interface KernelContext {
  /** Parameters by name; those in `FastKernel.transposed` are stored [F, D], the rest as in tfjs. */
  params: Record<string, Float32Array>;
  /** Gradients, same names and layout as params; zeroed before each step. */
  grads: Record<string, Float32Array>;
  state: Record<string, Float32Array>;
  d: number;
  f: number;
  sae: SaeConfig;
  blas: Blas;
  ops: ActiveOps;
  ws: Workspace;
  /** Where buffers and active lists are allocated (for the wasm kernels: inside their memory). */
  memory: HostMemory;
  /** The step's latents f [B, F] as an active list (values = activations), for state updates. */
  latents: ActiveList;
  /** Further active lists by name, kept across steps to reuse their memory. */
  lists: Map<string, ActiveList>;
}

export interface KernelStep {
  /** Loss terms in the order of the architecture's termNames(sae) (each a batch mean). */
  terms: number[];
  /** Sum over the batch of the squared reconstruction error. */
  sse: number;
  /** performance.now() when the forward pass (losses) ended and the backward pass began. */
  forwardEnd: number;
  /** Fraction of pre-activation entries inside the threshold STE window (JumpReLU), if any. */
  steWindow?: number;
  /** Milliseconds the encoder GEMM took, where the kernel measures it (benchmarks). */
  encoderMs?: number;
}

export interface FastKernel {
  /** Parameters stored transposed ([F, D] rather than [D, F]) so gradient rows are contiguous. */
  readonly transposed: readonly string[];
  /** Forward and backward on x [B, D]: fills ctx.grads and ctx.latents, returns loss terms. */
  step(ctx: KernelContext, x: Float32Array, hyper: StepHyper & { b: number }): KernelStep;
  /** Inference latents f [n, F] and reconstruction [n, D]. */
  encode(ctx: KernelContext, x: Float32Array, n: number): { f: Float32Array; xHat: Float32Array };
  /** Updates non-trainable state from ctx.latents after the parameter update. */
  updateState?(ctx: KernelContext, b: number): void;
  /** Projects parameters back onto their domain after the update. */
  constrain?(ctx: KernelContext): void;
}
