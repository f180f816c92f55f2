// Test helper: registers tests that need a WebGPU adapter. They skip on a developer machine without
// one, and fail (never skip) when env CI is set, where .ci/run installs Mesa's software Vulkan.
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
