// Test helper: registers tests that need a WebGPU adapter. They skip on a developer machine without
// one, and fail (never skip) when env CI is set, where .ci/run installs Mesa's software Vulkan. Also
// the kernel tests' buffer upload and their record-run-read round trip.
import { type Program, recordPrograms } from "../../lib/engine/webgpu/program.ts";
export interface WebGpuAvailability {
  available: boolean;
  /** Adapter description, or why there is none. */
  detail: string;
}

async function probe(): Promise<WebGpuAvailability> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { available: false, detail: "this Deno has no navigator.gpu" };
  try {
    const adapter = await gpu.requestAdapter();
    if (adapter) return { available: true, detail: adapter.info?.description ?? "adapter" };
  } catch (e) {
    return { available: false, detail: `requestAdapter failed: ${e}` };
  }
  return { available: false, detail: "no WebGPU adapter" };
}

export const WEBGPU: WebGpuAvailability = await probe();
const IN_CI = Boolean(Deno.env.get("CI"));

/**
 * Deno.test for the webgpu backend. The GPU device lives for the whole file, so the op and
 * resource sanitizers (which would count it as a leak) are off.
 */
export function webgpuTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: !WEBGPU.available && !IN_CI,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      if (!WEBGPU.available) {
        throw new Error(
          `CI needs a WebGPU adapter (${WEBGPU.detail}): apt-get install -y mesa-vulkan-drivers ` +
            "libvulkan1 gives Mesa's software Vulkan (llvmpipe)",
        );
      }
      await fn();
    },
  });
}

/** A storage buffer holding `data` (at least 16 bytes), readable back by runAndRead. */
export function storageBuffer(device: GPUDevice, data: Float32Array | Uint32Array): GPUBuffer {
  const b = device.createBuffer({
    size: Math.max(16, data.byteLength),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  device.queue.writeBuffer(b, 0, data as Float32Array<ArrayBuffer>);
  return b;
}

/** Records `programs` (recordPrograms), runs them and returns the first `words` of `out`. */
export async function runAndRead(
  device: GPUDevice,
  programs: Program[],
  out: GPUBuffer,
  words: number,
): Promise<ArrayBuffer> {
  const enc = device.createCommandEncoder();
  recordPrograms(enc, programs);
  const staging = device.createBuffer({
    size: words * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  enc.copyBufferToBuffer(out, 0, staging, 0, words * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  return staging.getMappedRange().slice(0);
}
