// Chooses and initialises the tfjs backend for a run: `auto` prefers tensorflow (tfjs-node-gpu or
// tfjs-node, when installed), then a hardware WebGPU adapter, then wasm; a software (fallback)
// WebGPU adapter is used only when asked for by name. The one place that knows backend names.
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { BackendName } from "../spec/schema.ts";
import { BackendUnavailableError } from "../errors.ts";
import type { BackendChoice } from "./choice.ts";

export type { BackendChoice } from "./choice.ts";

const TENSORFLOW_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/** How to enable the tensorflow backend; printed when it is requested but absent. */
export const TENSORFLOW_HINT = [
  "the tensorflow backend needs @tensorflow/tfjs-node-gpu (CUDA 11.2 + cuDNN 8.1) or @tensorflow/tfjs-node",
  "(CPU) in this project's node_modules, installed with its install script allowed (needs internet):",
  "  deno add npm:@tensorflow/tfjs-node-gpu@4.22.0 && deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu",
  "or choose another backend: --backend webgpu (a GPU through Vulkan, Metal or D3D12) or --backend wasm (CPU);",
  "details in docs/GPU.md",
].join("\n");

async function importTensorflow(): Promise<string | undefined> {
  for (const pkg of TENSORFLOW_PACKAGES) {
    // Only try packages present in node_modules: a bare npm: import would try to download them.
    const dir = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
    try {
      await Deno.stat(dir);
    } catch {
      continue;
    }
    await import(`npm:${pkg}@4.22.0`);
    if (await tf.setBackend("tensorflow")) return pkg;
  }
  return undefined;
}

interface WebGpuProbe {
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

async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { available: false, reason: "this Deno has no navigator.gpu" };
  ensureRuntimeDir();
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    return { available: false, reason: "no WebGPU adapter (no GPU driver or Vulkan loader)" };
  }
  const info = adapter.info;
  // deno-lint-ignore no-explicit-any
  const flagged = Boolean((info as any)?.isFallbackAdapter ?? (adapter as any).isFallbackAdapter);
  const name = describeAdapter(info);
  // Software rasterisers that some drivers do not flag as fallback adapters.
  const fallback = flagged || /llvmpipe|lavapipe|softpipe|swiftshader|warp/i.test(name);
  return { available: true, adapter: name, fallback };
}

/** `NVIDIA H100 80GB HBM3 (vendor 0x10de, device 0x2330)`; ids in hex as lspci shows them. */
function describeAdapter(info: GPUAdapterInfo | undefined): string {
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

async function useWebGpu(): Promise<boolean> {
  await import("@tensorflow/tfjs-backend-webgpu");
  return await tf.setBackend("webgpu");
}

async function useWasm(): Promise<boolean> {
  await import("@tensorflow/tfjs-backend-wasm");
  return await tf.setBackend("wasm");
}

/** Activates a backend; throws BackendUnavailableError with the fix when a named one is absent. */
export async function selectBackend(requested: BackendName): Promise<BackendChoice> {
  const notes: string[] = [];
  if (requested === "tensorflow") {
    const pkg = await importTensorflow();
    if (!pkg) {
      throw new BackendUnavailableError("backend tensorflow requested but not installed", {
        hint: TENSORFLOW_HINT,
      });
    }
    return { requested, used: "tensorflow", notes: [`loaded ${pkg}`] };
  }
  if (requested === "webgpu") {
    const probe = await probeWebGpu();
    if (!probe.available || !(await useWebGpu())) {
      throw new BackendUnavailableError(
        `backend webgpu unavailable: ${probe.reason ?? "init failed"}`,
        {
          hint:
            "install a GPU driver with Vulkan support (Linux: mesa-vulkan-drivers libvulkan1), or use --backend wasm",
        },
      );
    }
    return { requested, used: "webgpu", adapter: probe.adapter, fallback: probe.fallback, notes };
  }
  if (requested === "wasm" || requested === "cpu") {
    const ok = requested === "wasm" ? await useWasm() : await tf.setBackend("cpu");
    if (!ok) throw new BackendUnavailableError(`backend ${requested} failed to initialise`);
    return { requested, used: requested, notes };
  }
  // auto
  const pkg = await importTensorflow();
  if (pkg) return { requested, used: "tensorflow", notes: [`loaded ${pkg}`] };
  notes.push("tensorflow: not installed");
  const probe = await probeWebGpu();
  if (probe.available && !probe.fallback && await useWebGpu()) {
    return { requested, used: "webgpu", adapter: probe.adapter, fallback: false, notes };
  }
  notes.push(
    probe.available
      ? `webgpu: skipped software adapter ${probe.adapter} (use --backend webgpu to force it)`
      : `webgpu: ${probe.reason}`,
  );
  if (await useWasm()) return { requested, used: "wasm", notes };
  notes.push("wasm: failed to initialise");
  await tf.setBackend("cpu");
  return { requested, used: "cpu", notes };
}
