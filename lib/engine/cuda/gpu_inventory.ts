// The CUDA GPUs a sweep's parent process can hand out to its runs: each visible device's name,
// architecture and free/total memory, read through the driver API. Each device's primary context
// is retained only for cuMemGetInfo and released at once, so the parent holds no context (and no
// device memory) while its runs train. Also where each device is for a child: the
// CUDA_VISIBLE_DEVICES entry that shows it as the child's GPU 0.
import { SaeSweepError } from "../../errors.ts";
import { cudaDeviceIsOpen, describeCudaDevice, initCudaDriver } from "./device.ts";
import { checkCu, loadCublas, loadNvrtc, ptrOut } from "./ffi.ts";

/** One visible CUDA device, as the parent saw it before any run started. */
export interface CudaGpu {
  /** Ordinal among the devices this process sees (after its own CUDA_VISIBLE_DEVICES). */
  index: number;
  /** `NVIDIA H200` */
  name: string;
  /** `sm_90` */
  arch: string;
  /** Free device memory in bytes when read. */
  free: number;
  /** Total device memory in bytes. */
  total: number;
  /** The CUDA_VISIBLE_DEVICES value that shows this device alone to a child process. */
  visibleAs: string;
}

/**
 * The CUDA_VISIBLE_DEVICES value naming ordinal `index` of this process's devices: the index
 * itself, or the `index`-th entry of this process's own CUDA_VISIBLE_DEVICES when it has one
 * (entries may be ordinals or `GPU-<uuid>`s; both are passed on as written).
 */
export function visibleDeviceId(index: number, parentVisible: string | undefined): string {
  if (parentVisible === undefined) return String(index);
  const entries = parentVisible.split(",").map((e) => e.trim());
  const entry = entries[index];
  if (!entry) {
    throw new Error(`device ${index} is not among CUDA_VISIBLE_DEVICES=${parentVisible}`);
  }
  return entry;
}

/**
 * Every visible CUDA device with its free and total memory now. Loads the driver, cuBLAS and
 * NVRTC (the libraries a run will need: a missing one stops the sweep here), creates no lasting
 * context. Throws BackendUnavailableError (exit 2) when something is missing or no device shows.
 */
export function cudaInventory(
  env: { visible?: string } = { visible: Deno.env.get("CUDA_VISIBLE_DEVICES") },
): CudaGpu[] {
  // It unsets the current context: a process training on its device must not call it.
  if (cudaDeviceIsOpen()) throw new Error("cudaInventory() in a process that opened its device");
  const { cu, count } = initCudaDriver();
  loadCublas();
  loadNvrtc();
  const gpus: CudaGpu[] = [];
  for (let index = 0; index < count; index++) {
    const dev = new Int32Array(1);
    checkCu(cu, cu.cuDeviceGet(dev, index), `cuDeviceGet(${index})`);
    const { name, arch } = describeCudaDevice(cu, dev[0]);
    const ctx = new BigUint64Array(1);
    checkCu(cu, cu.cuDevicePrimaryCtxRetain(ctx, dev[0]), `cuDevicePrimaryCtxRetain(${index})`);
    const free = new BigUint64Array(1);
    const total = new BigUint64Array(1);
    try {
      checkCu(cu, cu.cuCtxSetCurrent(ptrOut(ctx)), "cuCtxSetCurrent");
      checkCu(cu, cu.cuMemGetInfo_v2(free, total), `cuMemGetInfo (device ${index})`);
    } finally {
      // The last release destroys the primary context: nothing stays allocated on the device.
      cu.cuCtxSetCurrent(null);
      cu.cuDevicePrimaryCtxRelease_v2(dev[0]);
    }
    gpus.push({
      index,
      name,
      arch,
      free: Number(free[0]),
      total: Number(total[0]),
      visibleAs: visibleDeviceId(index, env.visible),
    });
  }
  return gpus;
}

/** cudaInventory(), or the message of why there is none (the driver, a library, no device). */
export function tryCudaInventory(): CudaGpu[] | string {
  try {
    return cudaInventory();
  } catch (err) {
    if (err instanceof SaeSweepError) return err.message;
    throw err;
  }
}
