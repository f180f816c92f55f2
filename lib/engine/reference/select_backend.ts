// Chooses and initialises the tfjs backend of a run (the reference engine's and the LM forward
// pass's): `auto` prefers tensorflow (tfjs-node-gpu or tfjs-node, when installed), then wasm;
// tfjs's webgpu backend only when asked for by name (measured on an H200 it trained 835x slower
// than PyTorch and slower than the CPU engine: the GPU path is train.engine webgpu). The one place
// that knows backend names.
import * as tf from "@tensorflow/tfjs";
import type { BackendName } from "../names.ts";
import { BackendUnavailableError } from "../../errors.ts";
import type { BackendChoice } from "./backend_choice.ts";
import { probeWebGpu } from "../webgpu/adapter.ts";

export type { BackendChoice } from "./backend_choice.ts";

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
    const dir = new URL(`../../../node_modules/${pkg}/package.json`, import.meta.url);
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
  if (await useWasm()) return { requested, used: "wasm", notes };
  notes.push("wasm: failed to initialise");
  await tf.setBackend("cpu");
  return { requested, used: "cpu", notes };
}
