// Loads a system CBLAS (OpenBLAS on Linux, Accelerate on macOS) through Deno's FFI and wraps
// cblas_sgemm for row-major Float32Arrays. Returns null, with the reason, when the library or the
// ffi permission is missing; callers fall back to a slower GEMM.

/** C [m, n] = alpha op(A) op(B) + beta C, row-major; op is a transpose when the flag is set. */
export interface Blas {
  /** What was loaded, e.g. `openblas:/usr/lib/.../libopenblas.so.0`. */
  readonly name: string;
  readonly threads: number;
  sgemm(
    a: Float32Array,
    b: Float32Array,
    options: GemmOptions,
  ): void;
}

export interface GemmOptions {
  c: Float32Array;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

export type BlasResult = { blas: Blas; reason?: undefined } | { blas: null; reason: string };

/** Where Debian, Ubuntu, Fedora, Homebrew and macOS put a CBLAS with cblas_sgemm. */
const CANDIDATES = [
  "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/openblas-openmp/libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib64/libopenblas.so.0",
  "/usr/lib/libopenblas.so.0",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
];

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

const SGEMM = {
  parameters: [
    "i32", // order
    "i32", // transA
    "i32", // transB
    "i32", // m
    "i32", // n
    "i32", // k
    "f32", // alpha
    "buffer", // A
    "i32", // lda
    "buffer", // B
    "i32", // ldb
    "f32", // beta
    "buffer", // C
    "i32", // ldc
  ],
  result: "void",
} as const;

const SET_THREADS = { parameters: ["i32"], result: "void", optional: true } as const;

let cached: BlasResult | undefined;

function ffiGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile || path.includes(".framework/");
  } catch {
    return path.includes(".framework/") && Deno.build.os === "darwin";
  }
}

/**
 * The process-wide CBLAS, loaded once. `SAESWEEP_BLAS` names a library to use instead of the
 * standard locations; `SAESWEEP_BLAS=off` disables the FFI path.
 */
export function loadBlas(options: { threads?: number } = {}): BlasResult {
  if (cached) return cached;
  cached = open(options.threads);
  return cached;
}

function open(threadsWanted: number | undefined): BlasResult {
  if (!ffiGranted()) return { blas: null, reason: "ffi permission not granted (--allow-ffi)" };
  let override: string | undefined;
  try {
    override = Deno.env.get("SAESWEEP_BLAS");
  } catch {
    override = undefined;
  }
  if (override === "off") return { blas: null, reason: "disabled by SAESWEEP_BLAS=off" };
  const paths = override ? [override] : CANDIDATES;
  const errors: string[] = [];
  for (const path of paths) {
    if (!exists(path)) continue;
    try {
      const lib = Deno.dlopen(path, {
        cblas_sgemm: SGEMM,
        openblas_set_num_threads: SET_THREADS,
      });
      const threads = threadsWanted ?? navigator.hardwareConcurrency ?? 1;
      lib.symbols.openblas_set_num_threads?.(threads);
      return { blas: makeBlas(lib.symbols.cblas_sgemm, { path, threads }) };
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
    }
  }
  const tried = errors.length ? errors.join("; ") : `none of ${paths.join(", ")} exists`;
  return {
    blas: null,
    reason:
      `no CBLAS library found (${tried}); on Debian/Ubuntu: apt-get install libopenblas0-pthread`,
  };
}

type SgemmFn = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

function makeBlas(fn: unknown, info: { path: string; threads: number }): Blas {
  const sgemm = fn as SgemmFn;
  const kind = info.path.includes("Accelerate") ? "accelerate" : "openblas";
  return {
    name: `${kind}:${info.path}`,
    threads: info.threads,
    sgemm(a, b, { c, m, n, k, transA = false, transB = false, alpha = 1, beta = 0 }) {
      if (m === 0 || n === 0) return;
      const lda = transA ? m : k;
      const ldb = transB ? k : n;
      sgemm(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        n,
      );
    },
  };
}
