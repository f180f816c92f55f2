// isSoftware() and isSoftwareDevice(): the one test of "software adapter" behind the engine's
// probe (which refuses llvmpipe unless forced) and the kernels' choices (mirrors, serial column
// passes), on adapter infos as Deno reports them. No GPU needed.
import assert from "node:assert/strict";
import { isSoftware, isSoftwareDevice } from "../../../lib/engine/webgpu/adapter.ts";

const H100 = {
  vendor: "4318",
  device: "9008",
  description: "NVIDIA H100 80GB HBM3",
  architecture: "",
};
const LLVMPIPE = {
  vendor: "65541",
  device: "0",
  description: "llvmpipe (LLVM 15.0.6, 256 bits)",
  architecture: "",
};

function adapter(info: object, isFallbackAdapter?: boolean): GPUAdapter {
  return { info, isFallbackAdapter } as unknown as GPUAdapter;
}
function device(adapterInfo: object): GPUDevice {
  return { adapterInfo } as unknown as GPUDevice;
}

Deno.test("a software adapter is known by its name or its fallback flag, from the adapter or a device", () => {
  assert.equal(isSoftware(adapter(H100)), false);
  assert.equal(isSoftwareDevice(device(H100)), false);
  assert.equal(isSoftware(adapter(LLVMPIPE)), true);
  assert.equal(isSoftwareDevice(device(LLVMPIPE)), true);
  // Flagged by the implementation whatever its name; on the adapter or in its info.
  assert.equal(isSoftware(adapter(H100, true)), true);
  assert.equal(isSoftware(adapter({ ...H100, isFallbackAdapter: true })), true);
  assert.equal(isSoftwareDevice(device({ ...H100, isFallbackAdapter: true })), true);
  // The name in the device field alone (some drivers leave the description empty).
  const lavapipe = { vendor: "65541", device: "lavapipe", description: "", architecture: "" };
  assert.equal(isSoftware(adapter(lavapipe)), true);
  assert.equal(isSoftwareDevice(device(lavapipe)), true);
});
