// The process's CUDA device for the cuda engine: the driver initialised, GPU 0 (after
// CUDA_VISIBLE_DEVICES) and its primary context made current on the main thread (every FFI call
// here is synchronous, so that is the thread every call runs on), one stream, one cuBLAS handle
// bound to it, and the GPU's name and architecture (`sm_90`) for NVRTC. Opened once, kept until exit.
import { BackendUnavailableError } from "../../errors.ts";
import {
  checkCu,
  checkCublas,
  type CublasLib,
  type DriverLib,
  loadCublas,
  loadDriver,
  loadNvrtc,
  ptrOut,
} from "./ffi.ts";
import { nvrtcVersion } from "./nvrtc.ts";

export interface CudaDevice {
  driver: DriverLib;
  cublas: CublasLib;
  cublasHandle: Deno.PointerValue;
  stream: Deno.PointerValue;
  /** `NVIDIA H200` */
  name: string;
  /** `sm_90` */
  arch: string;
  /** `cuda 13.0 driver, cublas ..., nvrtc 13.0` */
  versions: string;
  /** Free and total device memory in bytes, now. */
  memory(): { free: number; total: number };
}

const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
const CUDA_ERROR_NO_DEVICE = 100;

let opened: CudaDevice | undefined;

/**
 * The driver loaded and initialised, with the number of devices it shows (after
 * CUDA_VISIBLE_DEVICES). Creates no context. Throws BackendUnavailableError when there is none.
 */
export function initCudaDriver(): { cu: DriverLib; path: string; count: number } {
  const { symbols: cu, path } = loadDriver();
  const status = cu.cuInit(0);
  if (status !== 0) {
    throw new BackendUnavailableError(
      `cuInit failed with CUresult ${status}${
        status === CUDA_ERROR_NO_DEVICE ? " (no CUDA-capable device)" : ""
      } (driver ${path})`,
      {
        hint:
          "check nvidia-smi and CUDA_VISIBLE_DEVICES, or use train.engine auto/cpu (docs/GPU.md)",
      },
    );
  }
  const count = new Int32Array(1);
  checkCu(cu, cu.cuDeviceGetCount(count), "cuDeviceGetCount");
  if (count[0] === 0) {
    throw new BackendUnavailableError(`no CUDA device visible (driver ${path})`, {
      hint: "check nvidia-smi and CUDA_VISIBLE_DEVICES, or use train.engine auto/cpu",
    });
  }
  return { cu, path, count: count[0] };
}

/** A device's name and architecture (`NVIDIA H200`, `sm_90`), without a context. */
export function describeCudaDevice(cu: DriverLib, dev: number): { name: string; arch: string } {
  const nameBytes = new Uint8Array(256);
  checkCu(cu, cu.cuDeviceGetName(nameBytes, 256, dev), "cuDeviceGetName");
  const name = new TextDecoder().decode(nameBytes.subarray(0, nameBytes.indexOf(0)));
  const attr = (a: number) => {
    const out = new Int32Array(1);
    checkCu(cu, cu.cuDeviceGetAttribute(out, a, dev), "cuDeviceGetAttribute");
    return out[0];
  };
  const arch = `sm_${attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)}${
    attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
  }`;
  return { name, arch };
}

/** Whether this process has opened its CUDA device (a context is current on this thread). */
export function cudaDeviceIsOpen(): boolean {
  return opened !== undefined;
}

/** Opens (once) the CUDA device. Throws BackendUnavailableError when there is none to open. */
export function openCudaDevice(): CudaDevice {
  if (opened) return opened;
  const { cu } = initCudaDriver();
  const dev = new Int32Array(1);
  checkCu(cu, cu.cuDeviceGet(dev, 0), "cuDeviceGet");
  const { name, arch } = describeCudaDevice(cu, dev[0]);
  const ctx = new BigUint64Array(1);
  checkCu(cu, cu.cuDevicePrimaryCtxRetain(ctx, dev[0]), "cuDevicePrimaryCtxRetain");
  checkCu(cu, cu.cuCtxSetCurrent(ptrOut(ctx)), "cuCtxSetCurrent");
  const streamOut = new BigUint64Array(1);
  checkCu(cu, cu.cuStreamCreate(streamOut, 0), "cuStreamCreate");
  const stream = ptrOut(streamOut);
  const { symbols: blas } = loadCublas();
  const handleOut = new BigUint64Array(1);
  checkCublas(blas.cublasCreate_v2(handleOut), "cublasCreate");
  const cublasHandle = ptrOut(handleOut);
  checkCublas(blas.cublasSetStream_v2(cublasHandle, stream), "cublasSetStream");
  loadNvrtc();
  const driverVersion = new Int32Array(1);
  cu.cuDriverGetVersion(driverVersion);
  const blasVersion = new Int32Array(1);
  blas.cublasGetVersion_v2(cublasHandle, blasVersion);
  const dv = driverVersion[0];
  const versions = `driver CUDA ${Math.floor(dv / 1000)}.${(dv % 1000) / 10}, cuBLAS ${
    blasVersion[0]
  }, NVRTC ${nvrtcVersion()}`;
  opened = {
    driver: cu,
    cublas: blas,
    cublasHandle,
    stream,
    name,
    arch,
    versions,
    memory() {
      const free = new BigUint64Array(1);
      const total = new BigUint64Array(1);
      checkCu(cu, cu.cuMemGetInfo_v2(free, total), "cuMemGetInfo");
      return { free: Number(free[0]), total: Number(total[0]) };
    },
  };
  return opened;
}
