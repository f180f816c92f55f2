// Whether the webgpu engine can train an architecture here (an adapter, the architecture's webgpu
// kernel, its options supported), and its creation. Loaded by lib/engine/create_engine.ts.
import type { InitResult, SaeConfig } from "../types.ts";
import type { EngineArchitecture } from "../architecture.ts";
import type { Engine } from "../engine.ts";
import { probeWebGpu } from "./adapter.ts";

export interface WebGpuEngineOptions {
  sae: SaeConfig;
  adamEps: number;
  gradClip: number | null;
}

/** Why the webgpu engine cannot train `arch` here, or null when it can. */
export async function webgpuUnavailable(
  arch: EngineArchitecture,
  options: { allowSoftware: boolean },
): Promise<string | null> {
  if (!arch.kernels.webgpu) return `architecture ${arch.name} has no webgpu kernel`;
  const probe = await probeWebGpu();
  if (!probe.available) return probe.reason ?? "no WebGPU adapter";
  if (probe.fallback && !options.allowSoftware) {
    return `software adapter ${probe.adapter} (slower than the CPU engine; train.engine webgpu forces it)`;
  }
  return null;
}

export async function createWebGpuEngine(
  arch: EngineArchitecture,
  _init: InitResult,
  _options: WebGpuEngineOptions,
): Promise<Engine & { adapter: string }> {
  await Promise.resolve();
  throw new Error(`webgpu engine for ${arch.name} not built yet`);
}
