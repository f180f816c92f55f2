// Opens a WebGPU device with the adapter's own limits (Deno grants WebGPU's defaults otherwise: a
// 128 MiB storage binding, smaller than W_enc at 2304 x 16384) and describes the adapter.
import { describeAdapter, isSoftware, requestGpuAdapter } from "./adapter.ts";

export interface GpuDevice {
  device: GPUDevice;
  /** `NVIDIA H200 (vendor 0x10de, device 0x2335)`. */
  adapter: string;
  /** True for a software (fallback) adapter such as llvmpipe. */
  fallback: boolean;
  limits: GPUSupportedLimits;
}

/** The limits worth raising to the adapter's maximum for large SAEs. */
const RAISED = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxStorageTexturesPerShaderStage",
  "maxTextureDimension2D",
] as const;

/** A device on the default adapter with its limits raised, or an Error saying why there is none. */
export async function openDevice(): Promise<GpuDevice> {
  const adapter = await requestGpuAdapter();
  if ("reason" in adapter) throw new Error(adapter.reason);
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  const name = describeAdapter(adapter.info);
  return { device, adapter: name, fallback: isSoftware(adapter), limits: device.limits };
}
