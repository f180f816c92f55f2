// The CUDA driver API (libcuda.so.1), cuBLAS and NVRTC through Deno's FFI: the symbol tables
// (the versioned names the headers map to: cuMemAlloc_v2, cublasCreate_v2, ...), loading with a
// clear error naming the library and where it was looked for, and the status checks that turn a
// CUresult, cublasStatus_t or nvrtcResult into a CudaError naming the call. Only synchronous FFI
// calls, so the context made current on the main thread is the one every call sees. Only the
// symbols the engine calls are listed: each one a driver lacks refuses it.
import { BackendUnavailableError, SaeSweepError } from "../../errors.ts";
import { type CudaLibrary, describeSearch, findCudaLibrary, nvrtcBuiltins } from "./libraries.ts";

/** A failed CUDA, cuBLAS or NVRTC call (or a sticky error a later call reports). */
export class CudaError extends SaeSweepError {
  /** The numeric status the call returned. */
  readonly code: number;
  constructor(message: string, options: { code: number; hint?: string }) {
    super(message, { hint: options.hint, exitCode: 1 });
    this.code = options.code;
  }
}

export const DRIVER_SYMBOLS = {
  cuInit: { parameters: ["u32"], result: "i32" },
  cuDriverGetVersion: { parameters: ["buffer"], result: "i32" },
  cuDeviceGetCount: { parameters: ["buffer"], result: "i32" },
  cuDeviceGet: { parameters: ["buffer", "i32"], result: "i32" },
  cuDeviceGetName: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDeviceGetAttribute: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  cuDevicePrimaryCtxRetain: { parameters: ["buffer", "i32"], result: "i32" },
  cuDevicePrimaryCtxRelease_v2: { parameters: ["i32"], result: "i32" },
  cuCtxSetCurrent: { parameters: ["pointer"], result: "i32" },
  cuMemGetInfo_v2: { parameters: ["buffer", "buffer"], result: "i32" },
  cuMemAlloc_v2: { parameters: ["buffer", "usize"], result: "i32" },
  cuMemFree_v2: { parameters: ["u64"], result: "i32" },
  cuMemAllocHost_v2: { parameters: ["buffer", "usize"], result: "i32" },
  cuMemFreeHost: { parameters: ["pointer"], result: "i32" },
  cuMemcpyHtoD_v2: { parameters: ["u64", "buffer", "usize"], result: "i32" },
  cuMemcpyHtoDAsync_v2: { parameters: ["u64", "pointer", "usize", "pointer"], result: "i32" },
  cuMemcpyDtoH_v2: { parameters: ["buffer", "u64", "usize"], result: "i32" },
  cuMemsetD32_v2: { parameters: ["u64", "u32", "usize"], result: "i32" },
  cuStreamCreate: { parameters: ["buffer", "u32"], result: "i32" },
  cuStreamDestroy_v2: { parameters: ["pointer"], result: "i32" },
  cuStreamSynchronize: { parameters: ["pointer"], result: "i32" },
  cuEventCreate: { parameters: ["buffer", "u32"], result: "i32" },
  cuEventDestroy_v2: { parameters: ["pointer"], result: "i32" },
  cuEventRecord: { parameters: ["pointer", "pointer"], result: "i32" },
  cuEventSynchronize: { parameters: ["pointer"], result: "i32" },
  cuModuleLoadData: { parameters: ["buffer", "buffer"], result: "i32" },
  cuModuleUnload: { parameters: ["pointer"], result: "i32" },
  cuModuleGetFunction: { parameters: ["buffer", "pointer", "buffer"], result: "i32" },
  cuLaunchKernel: {
    // f, grid x y z, block x y z, shared bytes, stream, kernelParams, extra
    parameters: [
      "pointer",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "u32",
      "pointer",
      "buffer",
      "pointer",
    ],
    result: "i32",
  },
  cuGetErrorName: { parameters: ["i32", "buffer"], result: "i32" },
  cuGetErrorString: { parameters: ["i32", "buffer"], result: "i32" },
} as const;

const CUBLAS = {
  cublasCreate_v2: { parameters: ["buffer"], result: "i32" },
  cublasDestroy_v2: { parameters: ["pointer"], result: "i32" },
  cublasSetStream_v2: { parameters: ["pointer", "pointer"], result: "i32" },
  cublasGetVersion_v2: { parameters: ["pointer", "buffer"], result: "i32" },
  // handle, transa, transb, m, n, k, alpha*, A, Atype, lda, B, Btype, ldb, beta*, C, Ctype, ldc,
  // computeType, algo
  cublasGemmEx: {
    parameters: [
      "pointer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "buffer",
      "u64",
      "i32",
      "i32",
      "u64",
      "i32",
      "i32",
      "buffer",
      "u64",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
    result: "i32",
  },
} as const;

const NVRTC = {
  nvrtcVersion: { parameters: ["buffer", "buffer"], result: "i32" },
  nvrtcGetErrorString: { parameters: ["i32"], result: "pointer" },
  nvrtcCreateProgram: {
    parameters: ["buffer", "buffer", "buffer", "i32", "pointer", "pointer"],
    result: "i32",
  },
  nvrtcDestroyProgram: { parameters: ["buffer"], result: "i32" },
  nvrtcCompileProgram: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  nvrtcGetProgramLogSize: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetProgramLog: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetCUBINSize: { parameters: ["pointer", "buffer"], result: "i32" },
  nvrtcGetCUBIN: { parameters: ["pointer", "buffer"], result: "i32" },
} as const;

export type DriverLib = Deno.DynamicLibrary<typeof DRIVER_SYMBOLS>["symbols"];
export type CublasLib = Deno.DynamicLibrary<typeof CUBLAS>["symbols"];
export type NvrtcLib = Deno.DynamicLibrary<typeof NVRTC>["symbols"];

const HINTS: Record<CudaLibrary, string> = {
  cuda: "the cuda engine needs an NVIDIA GPU and its driver; set SAESWEEP_CUDA_LIB_DIR to the " +
    "folder of libcuda.so.1, or use train.engine auto/cpu (docs/GPU.md)",
  cublas: "install cuBLAS (`pip install nvidia-cublas`, the CUDA toolkit, or PyTorch's wheels) " +
    "or set SAESWEEP_CUDA_LIB_DIR to its folder (docs/GPU.md)",
  nvrtc: "install NVRTC (`pip install nvidia-cuda-nvrtc`, the CUDA toolkit, or PyTorch's wheels) " +
    "or set SAESWEEP_CUDA_LIB_DIR to its folder (docs/GPU.md)",
};

function open<S extends Deno.ForeignLibraryInterface>(
  lib: CudaLibrary,
  symbols: S,
): { symbols: Deno.DynamicLibrary<S>["symbols"]; path: string } {
  const found = findCudaLibrary(lib);
  if (!found.path) {
    throw new BackendUnavailableError(`${describeSearch(lib)}: not found`, { hint: HINTS[lib] });
  }
  try {
    if (lib === "nvrtc") {
      // NVRTC opens its builtins by name at compile time; loaded first by full path, they are
      // found without LD_LIBRARY_PATH (the nvidia-* wheels put them beside libnvrtc).
      const builtins = nvrtcBuiltins(found.path);
      if (builtins) Deno.dlopen(builtins, {});
    }
    return { symbols: Deno.dlopen(found.path, symbols).symbols, path: found.path };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new BackendUnavailableError(`cannot load ${found.path}: ${why}`, {
      hint: `${HINTS[lib]} (a library too old for this project lacks the symbols it names)`,
      cause: err,
    });
  }
}

const loaded: Partial<Record<CudaLibrary, { symbols: unknown; path: string }>> = {};

function once<S extends Deno.ForeignLibraryInterface>(lib: CudaLibrary, symbols: S) {
  return (loaded[lib] ??= open(lib, symbols)) as {
    symbols: Deno.DynamicLibrary<S>["symbols"];
    path: string;
  };
}

export function loadDriver(): { symbols: DriverLib; path: string } {
  return once("cuda", DRIVER_SYMBOLS);
}
export function loadCublas(): { symbols: CublasLib; path: string } {
  return once("cublas", CUBLAS);
}
export function loadNvrtc(): { symbols: NvrtcLib; path: string } {
  return once("nvrtc", NVRTC);
}

/** A NUL-terminated C string. */
export function cstr(s: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(`${s}\0`);
  return bytes as Uint8Array<ArrayBuffer>;
}

/** The C string at `p` (empty for null). */
export function readCString(p: Deno.PointerValue): string {
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

/** The pointer stored in an 8-byte out-parameter. */
export function ptrOut(out: BigUint64Array<ArrayBuffer>): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0]);
}

/** Throws a CudaError for a driver call that returned `status` (0 is success). */
export function checkCu(driver: DriverLib, status: number, what: string, hint?: string): void {
  if (status === 0) return;
  const out = new BigUint64Array(1);
  const name = driver.cuGetErrorName(status, out) === 0 ? readCString(ptrOut(out)) : "";
  const text = driver.cuGetErrorString(status, out) === 0 ? readCString(ptrOut(out)) : "";
  throw new CudaError(
    `cuda engine: ${what} failed: ${name || `CUresult ${status}`}${text ? ` (${text})` : ""}`,
    {
      code: status,
      hint: hint ??
        (status === 2
          ? "not enough GPU memory: a smaller batch or width, or fewer runs on the GPU at once"
          : "a CUDA error stays set until the process ends: restart the run (docs/GPU.md)"),
    },
  );
}

/** cublasStatus_t names (cublas_api.h). */
const CUBLAS_STATUS: Record<number, string> = {
  1: "CUBLAS_STATUS_NOT_INITIALIZED",
  3: "CUBLAS_STATUS_ALLOC_FAILED",
  7: "CUBLAS_STATUS_INVALID_VALUE",
  8: "CUBLAS_STATUS_ARCH_MISMATCH",
  11: "CUBLAS_STATUS_MAPPING_ERROR",
  13: "CUBLAS_STATUS_EXECUTION_FAILED",
  14: "CUBLAS_STATUS_INTERNAL_ERROR",
  15: "CUBLAS_STATUS_NOT_SUPPORTED",
  16: "CUBLAS_STATUS_LICENSE_ERROR",
};

export function checkCublas(status: number, what: string): void {
  if (status === 0) return;
  throw new CudaError(
    `cuda engine: cuBLAS ${what} failed: ${CUBLAS_STATUS[status] ?? `status ${status}`}`,
    {
      code: status,
      hint: "check the GPU's health (nvidia-smi) and the cuBLAS version (docs/GPU.md)",
    },
  );
}

export function nvrtcError(nvrtc: NvrtcLib, status: number): string {
  return readCString(nvrtc.nvrtcGetErrorString(status)) || `nvrtcResult ${status}`;
}
