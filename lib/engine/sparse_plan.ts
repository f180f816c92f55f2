// Which products of a training step run over lists of kept latents instead of dense GEMMs, for
// both GPU engines (webgpu/sparse.ts and cuda/sparse.ts hold the list kernels). Pure: a rule over
// the step description (kernel.ts's WebGpuStep), no device.
import type { WebGpuStep } from "./webgpu/kernel.ts";

type AuxTerm = Extract<WebGpuStep["terms"][number], { kind: "auxk" }>;

/** A code is treated as sparse when at most 1 / SPARSE_RATIO of its entries can be kept. */
export const SPARSE_RATIO = 8;

/**
 * Whether a product over a code keeping at most `k` of `f` latents per row (on average, for
 * BatchTopK) runs over lists instead of as a dense GEMM: k * SPARSE_RATIO <= f.
 */
export function sparseFor(k: number, f: number): boolean {
  return k > 0 && k * SPARSE_RATIO <= f;
}

/**
 * Which products run over lists instead of dense GEMMs: `main` for a TopK or BatchTopK code
 * keeping k <= F / SPARSE_RATIO latents a row (the decode, the latent gradient and both weight
 * gradients), `aux` for AuxK's decode and latent gradient when its k is as small too. Only on
 * hardware unless `sparse` is true: on a software webgpu adapter (llvmpipe) every data-dependent
 * load is a lane-by-lane gather, and the list kernels measured slower than its dense unrolled
 * GEMM at 64/512/4096 with k = 32 (docs/GPU.md); the cuda engine has no software device.
 * `sparse` false: never.
 */
export function sparsePlan(
  step: WebGpuStep,
  options: { f: number; software: boolean; sparse?: boolean },
): { main: boolean; aux: boolean } {
  const { f } = options;
  const sel = step.selection;
  const main = (options.sparse ?? !options.software) &&
    (sel.kind === "row_topk" || sel.kind === "batch_topk") &&
    sparseFor(Math.min(sel.k, f), f);
  const aux = step.terms.find((t): t is AuxTerm => t.kind === "auxk");
  return { main, aux: main && aux !== undefined && sparseFor(Math.min(aux.k, f), f) };
}
