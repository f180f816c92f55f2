// Finds the WebGPU adapter (Deno's built-in WebGPU: Vulkan, Metal or D3D12) and describes it:
// name and ids as lspci shows them, and whether it is a software (fallback) implementation. Used
// by the webgpu engine and by the reference engine's tfjs webgpu backend.
import { join } from "node:path";
import { tmpdir } from "node:os";

export interface WebGpuProbe {
  available: boolean;
  adapter?: string;
  fallback?: boolean;
  reason?: string;
}

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every start without a
 * private runtime directory; give the process one (0700, under the temp dir) when it has none.
 */
function ensureRuntimeDir(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    const dir = join(tmpdir(), `saesweep-xdg-${Deno.uid() ?? "user"}`);
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env or write permission Mesa only warns; nothing else depends on it.
  }
}

/** The high-performance WebGPU adapter, or why there is none. */
export async function requestGpuAdapter(): Promise<GPUAdapter | { reason: string }> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { reason: "this Deno has no navigator.gpu" };
  ensureRuntimeDir();
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  return adapter ?? { reason: "no WebGPU adapter (no GPU driver or Vulkan loader)" };
}

export async function probeWebGpu(): Promise<WebGpuProbe> {
  const adapter = await requestGpuAdapter();
  if ("reason" in adapter) return { available: false, reason: adapter.reason };
  const name = describeAdapter(adapter.info);
  return { available: true, adapter: name, fallback: isSoftware(adapter) };
}

/** Names of software adapters (some drivers do not flag them as fallback adapters). */
const SOFTWARE_NAME = /llvmpipe|lavapipe|softpipe|swiftshader|warp/i;

type AdapterInfo = GPUAdapterInfo & { isFallbackAdapter?: boolean };

/**
 * A software (fallback) adapter such as llvmpipe: flagged, or known by name (some drivers do not
 * flag them). The one test behind the adapter's probe and a device's kernel choices.
 */
function softwareInfo(info: AdapterInfo | undefined, flagged = false): boolean {
  if (flagged || info?.isFallbackAdapter) return true;
  return SOFTWARE_NAME.test(
    `${info?.description ?? ""} ${info?.device ?? ""} ${info?.architecture ?? ""}`,
  );
}

/** Whether an adapter is a software one (softwareInfo()). */
export function isSoftware(adapter: GPUAdapter): boolean {
  return softwareInfo(
    adapter.info as AdapterInfo,
    Boolean((adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  );
}

/** Whether a device's adapter is a software one (softwareInfo()), from the device's adapter info. */
export function isSoftwareDevice(device: GPUDevice): boolean {
  return softwareInfo((device as { adapterInfo?: AdapterInfo }).adapterInfo);
}

/** `NVIDIA H100 80GB HBM3 (vendor 0x10de, device 0x2330)`; ids in hex as lspci shows them. */
export function describeAdapter(info: GPUAdapterInfo | undefined): string {
  const hex = (s: string | undefined) => /^\d+$/.test(s ?? "") ? `0x${Number(s).toString(16)}` : s;
  const label = info?.description || info?.device || info?.architecture || "unknown adapter";
  const ids = [
    info?.vendor ? `vendor ${hex(info.vendor)}` : "",
    info?.device && info.device !== label && info.device !== "0"
      ? `device ${hex(info.device)}`
      : "",
  ].filter((s) => s);
  return ids.length ? `${label} (${ids.join(", ")})` : label;
}
