// Loads a CBLAS (the system's OpenBLAS or Accelerate, else an OpenBLAS bundled by conda or a
// Python wheel) through Deno's FFI and wraps its sgemm for row-major Float32Arrays. Returns null,
// with the reason, when no library or the ffi permission is missing; callers use lib/engine/cpu/gemm/.
import { otherCandidates, SYSTEM_CANDIDATES } from "./blas_paths.ts";

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

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/** cblas_sgemm's signature with integer arguments of type `int` (i32, LP64) or `long` (i64). */
function sgemmSignature<I extends "i32" | "i64">(int: I) {
  return {
    // order, transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc
    parameters: [
      int,
      int,
      int,
      int,
      int,
      int,
      "f32",
      "buffer",
      int,
      "buffer",
      int,
      "f32",
      "buffer",
      int,
    ],
    result: "void",
    optional: true,
  } as const;
}

const SET_THREADS = { parameters: ["i32"], result: "void", optional: true } as const;

/** Symbol names: OpenBLAS/Accelerate, scipy-openblas32 (prefixed), scipy-openblas64 (ILP64). */
const SYMBOLS = {
  cblas_sgemm: sgemmSignature("i32"),
  scipy_cblas_sgemm: sgemmSignature("i32"),
  scipy_cblas_sgemm64_: sgemmSignature("i64"),
  openblas_set_num_threads: SET_THREADS,
  scipy_openblas_set_num_threads: SET_THREADS,
  scipy_openblas_set_num_threads64_: SET_THREADS,
} as const;

/**
 * Threads a run's GEMM may use: `SAESWEEP_THREADS` (the sweep sets it for each run it starts),
 * else every core.
 */
export function runThreads(): number {
  let v: string | undefined;
  try {
    v = Deno.env.get("SAESWEEP_THREADS");
  } catch {
    v = undefined;
  }
  const n = Number(v);
  return v && Number.isInteger(n) && n >= 1 ? n : navigator.hardwareConcurrency ?? 1;
}

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
  const paths = override ? [override] : [...SYSTEM_CANDIDATES, ...otherCandidates()];
  const errors: string[] = [];
  for (const path of paths) {
    if (!exists(path)) continue;
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      const s = lib.symbols;
      const sgemm = s.cblas_sgemm ?? s.scipy_cblas_sgemm ?? s.scipy_cblas_sgemm64_;
      if (!sgemm) {
        lib.close();
        errors.push(`${path}: no cblas_sgemm`);
        continue;
      }
      const threads = threadsWanted ?? runThreads();
      (s.openblas_set_num_threads ?? s.scipy_openblas_set_num_threads ??
        s.scipy_openblas_set_num_threads64_)?.(threads);
      return { blas: makeBlas(sgemm, { path, threads }) };
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
    }
  }
  const tried = errors.length
    ? errors.join("; ")
    : override
    ? `${override} does not exist`
    : "none in the system locations, conda or Python wheels";
  return {
    blas: null,
    reason:
      `no CBLAS library found (${tried}); on Debian/Ubuntu: apt-get install libopenblas0-pthread`,
  };
}

type Int = number | bigint;
type SgemmFn = (
  order: Int,
  transA: Int,
  transB: Int,
  m: Int,
  n: Int,
  k: Int,
  alpha: number,
  a: Float32Array,
  lda: Int,
  b: Float32Array,
  ldb: Int,
  beta: number,
  c: Float32Array,
  ldc: Int,
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
