// Compiles the cuda engine's CUDA C module with NVRTC to a CUBIN for one GPU architecture
// (sm_80, sm_90, ...: a CUBIN, not PTX, so the driver's JIT is never involved), cached in memory
// and on disk per architecture, NVRTC version and source hash ($SAESWEEP_CUDA_CACHE, else
// ~/.cache/saesweep/cuda; `off` disables the disk cache). A compile error names the kernels
// the NVRTC log points at. Needs NVRTC only, no GPU.
import { createHash } from "node:crypto";
import { cstr, CudaError, loadNvrtc, nvrtcError, ptrOut } from "./ffi.ts";

/** A kernel of the module and the line its source starts on (step_plan.ts's moduleOf). */
export interface ModuleKernel {
  name: string;
  label: string;
  line: number;
}

const memory = new Map<string, Uint8Array>();

/** NVRTC's version, `13.0`. */
export function nvrtcVersion(): string {
  const { symbols } = loadNvrtc();
  const major = new Int32Array(1);
  const minor = new Int32Array(1);
  symbols.nvrtcVersion(major, minor);
  return `${major[0]}.${minor[0]}`;
}

function cacheDir(): string | null {
  let dir: string | undefined;
  try {
    dir = Deno.env.get("SAESWEEP_CUDA_CACHE");
    if (dir === "off") return null;
    if (!dir) {
      const base = Deno.env.get("XDG_CACHE_HOME") ??
        (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.cache` : undefined);
      if (!base) return null;
      dir = `${base}/saesweep/cuda`;
    }
  } catch {
    return null;
  }
  return dir;
}

/** The labels of the kernels whose lines an NVRTC log names (`name.cu(123): error: ...`). */
export function kernelsInLog(log: string, kernels: ModuleKernel[]): string[] {
  const out = new Set<string>();
  for (const m of log.matchAll(/\((\d+)\): (?:error|catastrophic error)/g)) {
    const line = Number(m[1]);
    let hit: ModuleKernel | undefined;
    for (const k of kernels) if (k.line <= line) hit = k;
    if (hit) out.add(`${hit.name} (${hit.label})`);
  }
  return [...out];
}

/**
 * The CUBIN of `source` for `arch` (`sm_90`). Throws a CudaError with the NVRTC log and the
 * kernels it points at when the source does not compile.
 */
export function compileCubin(
  source: string,
  arch: string,
  options: { kernels?: ModuleKernel[]; cache?: boolean } = {},
): Uint8Array {
  const { symbols: nv } = loadNvrtc();
  const version = nvrtcVersion();
  const hash = createHash("sha256").update(`${version}\n${arch}\n${source}`).digest("hex")
    .slice(0, 24);
  const key = `${arch}-${hash}`;
  const hit = memory.get(key);
  if (hit) return hit;
  const dir = options.cache === false ? null : cacheDir();
  if (dir) {
    try {
      const cubin = Deno.readFileSync(`${dir}/${key}.cubin`);
      memory.set(key, cubin);
      return cubin;
    } catch {
      // not cached yet
    }
  }
  const prog = new BigUint64Array(1);
  let status = nv.nvrtcCreateProgram(prog, cstr(source), cstr("saesweep.cu"), 0, null, null);
  if (status !== 0) {
    throw new CudaError(`nvrtcCreateProgram failed: ${nvrtcError(nv, status)}`, { code: status });
  }
  const handle = ptrOut(prog);
  try {
    const opts = [`--gpu-architecture=${arch}`, "--std=c++17"].map(cstr);
    const ptrs = new BigUint64Array(
      opts.map((o) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(o)))),
    );
    status = nv.nvrtcCompileProgram(handle, opts.length, ptrs);
    if (status !== 0) {
      const sizeOut = new BigUint64Array(1);
      nv.nvrtcGetProgramLogSize(handle, sizeOut);
      const logBytes = new Uint8Array(Number(sizeOut[0]) || 1);
      nv.nvrtcGetProgramLog(handle, logBytes);
      const log = new TextDecoder().decode(logBytes).replace(/\0+$/, "").trim();
      const where = kernelsInLog(log, options.kernels ?? []);
      throw new CudaError(
        `cuda engine: NVRTC ${version} could not compile ${
          where.length ? `kernel ${where.join(", ")}` : "the kernel module"
        } for ${arch}: ${nvrtcError(nv, status)}\n${log}`,
        {
          code: status,
          hint: status === 7
            ? "NVRTC could not load libnvrtc-builtins beside libnvrtc: put its folder on LD_LIBRARY_PATH"
            : "a kernel source the engine generated is wrong: report it with this log",
        },
      );
    }
    const sizeOut = new BigUint64Array(1);
    status = nv.nvrtcGetCUBINSize(handle, sizeOut);
    if (status !== 0) {
      throw new CudaError(`nvrtcGetCUBINSize failed: ${nvrtcError(nv, status)}`, { code: status });
    }
    const cubin = new Uint8Array(Number(sizeOut[0]));
    nv.nvrtcGetCUBIN(handle, cubin);
    memory.set(key, cubin);
    if (dir) {
      try {
        Deno.mkdirSync(dir, { recursive: true });
        const tmp = `${dir}/${key}.${Deno.pid}.tmp`;
        Deno.writeFileSync(tmp, cubin);
        Deno.renameSync(tmp, `${dir}/${key}.cubin`);
      } catch {
        // a read-only cache costs a compile next time, nothing else
      }
    }
    return cubin;
  } finally {
    nv.nvrtcDestroyProgram(prog);
  }
}
