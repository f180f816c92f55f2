// Everything the cuda engine launches for one architecture, config and shape, without a GPU: the
// layout, the training step, the inference encoder, the non-finite checks, and the one CUDA C
// module holding their kernels. The engine builds its step from this, and the NVRTC compile test
// compiles exactly this module, so what is tested without a GPU is what a GPU would run.
// Shapes: B batch, D d_model, F latents.
import type { SaeConfig } from "../types.ts";
import type { EngineArchitecture } from "../architecture.ts";
import type { WebGpuKernel } from "../webgpu/kernel.ts";
import type { ModuleKernel } from "./nvrtc.ts";
import { sparsePlan } from "../sparse_plan.ts";
import {
  encoderPlan,
  finiteChecks,
  moduleOf,
  type Op,
  type PlanLayout,
  stepPlan,
  workBuffers,
} from "./step_plan.ts";

export interface EnginePlan {
  layout: PlanLayout;
  step: Op[];
  encode: Op[];
  checks: Op[];
  stateSizes: Record<string, number>;
  module: { source: string; kernels: ModuleKernel[] };
}

/**
 * Why the cuda engine cannot train `arch` with `sae` (it lacks the kernels), or null. The cuda
 * engine builds its kernels from the same step description as the webgpu engine (kernel.ts's
 * WebGpuStep: the architecture's maths, not WGSL), so it trains what the webgpu engine trains.
 */
export function cudaKernelMissing(arch: EngineArchitecture, sae?: SaeConfig): string | null {
  const kernel = arch.kernels?.webgpu;
  if (!kernel) return `architecture ${arch.name} has no gpu step description (kernels.webgpu)`;
  return sae ? kernel.unsupported(sae)?.replace("webgpu", "gpu") ?? null : null;
}

/** Tensor shapes by name (an InitResult's parameters or state will do). */
export type Shapes = Record<string, { shape: number[] }>;

/** Element count of a shape. */
const count = (shape: number[]) => shape.reduce((a, x) => a * x, 1);

/** Options of a plan: the run's `sae` section, batch size and Adam settings. */
export interface PlanOptions {
  sae: SaeConfig;
  batch: number;
  adamEps: number;
  gradClip: number | null;
  /** Sparse products for k-sparse codes: true always, false never, unset by sparsePlan's rule. */
  sparse?: boolean;
}

/**
 * The buffers' layout of `arch` with `sae` for parameters and state shaped as in `init`, batch
 * `b`, and the state's sizes: what device memory the engine allocates, without the kernels.
 * Kernels index with 32-bit integers: a matrix of 2^32 elements or more is refused.
 */
export function planLayout(
  arch: EngineArchitecture,
  init: { params: Shapes; state: Shapes },
  options: PlanOptions,
): { layout: PlanLayout; stateSizes: Record<string, number> } {
  const why = cudaKernelMissing(arch, options.sae);
  if (why) throw new Error(`cuda engine: ${why}`);
  const kernel = arch.kernels!.webgpu as WebGpuKernel;
  const [f, d] = init.params[arch.decoderParam].shape;
  const paramNames = Object.keys(init.params);
  const sizes = Object.fromEntries(paramNames.map((n) => [n, count(init.params[n].shape)]));
  const stateSizes = Object.fromEntries(
    Object.entries(init.state).map(([n, t]) => [n, count(t.shape)]),
  );
  const largest = Math.max(options.batch * Math.max(d, f), f * d);
  if (largest >= 2 ** 32) {
    throw new Error(
      `cuda engine: a [${options.batch}, ${d}, ${f}] step has a matrix of ${largest} elements; ` +
        "its kernels index with 32-bit integers (at most 2^32 - 1)",
    );
  }
  const [beta1, beta2] = arch.adamBetas(options.sae);
  const step = kernel.step(options.sae, { d, f });
  // No software CUDA device: under the rule, k-sparse codes always take the list kernels.
  const sparse = sparsePlan(step, { f, software: false, sparse: options.sparse });
  const layout: PlanLayout = {
    b: options.batch,
    d,
    f,
    step,
    paramNames,
    sizes,
    stateNames: Object.keys(init.state),
    adam: { beta1, beta2, eps: options.adamEps, gradClip: options.gradClip },
    unitNormDecoder: arch.unitNormDecoder,
    termCount: arch.termNames(options.sae).length,
    sparse: sparse.main ? sparse : undefined,
  };
  return { layout, stateSizes };
}

/** The plan of `arch` with `sae` for parameters and state shaped as in `init`, batch `b`. */
export function enginePlan(
  arch: EngineArchitecture,
  init: { params: Shapes; state: Shapes },
  options: PlanOptions,
): EnginePlan {
  const { layout, stateSizes } = planLayout(arch, init, options);
  const step = stepPlan(layout);
  const encode = encoderPlan(layout, { training: false });
  const checks = finiteChecks(layout, stateSizes);
  return { layout, step, encode, checks, stateSizes, module: moduleOf([step, encode, checks]) };
}

/**
 * Bytes of device memory the engine allocates for a plan (for the memory check before any): each
 * parameter with its gradient and Adam moments (four copies), the state and the work buffers, each
 * allocation at least 16 bytes, as the engine's constructor allocates them.
 */
export function deviceBytes(plan: Pick<EnginePlan, "layout" | "stateSizes">): number {
  const L = plan.layout;
  const buffer = (n: number) => Math.max(16, 4 * n);
  let bytes = 0;
  for (const name of L.paramNames) bytes += 4 * buffer(L.sizes[name]);
  for (const n of Object.values(plan.stateSizes)) bytes += buffer(n);
  for (const n of Object.values(workBuffers(L))) bytes += buffer(n);
  return bytes;
}
