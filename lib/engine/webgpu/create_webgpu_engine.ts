// Whether the webgpu engine can train an architecture here (an adapter, the architecture's webgpu
// kernel, its options supported), and its creation. Loaded by lib/engine/create_engine.ts.
import type { InitResult, SaeConfig } from "../types.ts";
import type { EngineArchitecture } from "../architecture.ts";
import { probeWebGpu } from "./adapter.ts";
import { openDevice } from "./device.ts";
import { WebGpuEngine } from "./webgpu_engine.ts";

export interface WebGpuCreateOptions {
  sae: SaeConfig;
  adamEps: number;
  gradClip: number | null;
  /** The run's batch size: the engine's buffers are sized for it. */
  batch?: number;
  /** Force the sparse products on (tests on llvmpipe) or off; unset: the engine's rule. */
  sparse?: boolean;
}

/** Why the webgpu engine has no kernels for `arch` with `sae`, or null when it has (no device). */
export function webgpuKernelMissing(arch: EngineArchitecture, sae?: SaeConfig): string | null {
  const kernel = arch.kernels?.webgpu;
  if (!kernel) return `architecture ${arch.name} has no webgpu kernel`;
  return sae ? kernel.unsupported(sae) : null;
}

/** Why the webgpu engine cannot train `arch` with `sae` here, or null when it can. */
export async function webgpuUnavailable(
  arch: EngineArchitecture,
  options: { allowSoftware: boolean; sae?: SaeConfig },
): Promise<string | null> {
  const why = webgpuKernelMissing(arch, options.sae);
  if (why) return why;
  const probe = await probeWebGpu();
  if (!probe.available) return probe.reason ?? "no WebGPU adapter";
  if (probe.fallback && !options.allowSoftware) {
    return `software adapter ${probe.adapter} (slower than the cpu engine; train.engine webgpu forces it)`;
  }
  return null;
}

export async function createWebGpuEngine(
  arch: EngineArchitecture,
  init: InitResult,
  options: WebGpuCreateOptions,
): Promise<WebGpuEngine> {
  if (!options.batch) throw new Error("the webgpu engine needs the run's batch size");
  const gpu = await openDevice();
  return await new WebGpuEngine(gpu, arch, init, { ...options, batch: options.batch }).ready();
}
