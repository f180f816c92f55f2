// AssemblyScript source of lib/engine/cpu/gemm/sgemm.wasm (build: `deno task build-wasm`): a float32 GEMM
// with WebAssembly SIMD on raw pointers into shared memory; JavaScript owns the memory layout.
// C [m, n] = alpha op(A) op(B) + beta C, row-major, rows [m0, m1) of C only (one thread's share).
// Blocked as in BLIS: B packed in KC x NC blocks of NR-column panels, A in MC x KC blocks of
// MR-row panels (alpha folded in), and a 6 x 8 register micro-kernel on relaxed-SIMD multiply-adds
// (fused where the CPU has FMA). Not formatted by deno fmt, which drops the @inline decorators.

const MR: i32 = 6;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 120;
const NC: i32 = 2048;

/** Scratch floats one thread needs at `scratch`: packed A block, packed B block, one edge tile. */
export function scratchFloats(): i32 {
  return MC * KC + KC * NC + MR * NR;
}

@inline function at(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/** op(A) block rows [i0, i0 + mc) x cols [p0, p0 + kc) into MR-row panels, times alpha. */
function packA(
  a: usize,
  m: i32,
  k: i32,
  transA: bool,
  alpha: f32,
  i0: i32,
  mc: i32,
  p0: i32,
  kc: i32,
  dst: usize,
): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    for (let p = 0; p < kc; p++) {
      for (let r = 0; r < MR; r++) {
        let v: f32 = 0;
        if (r < rows) {
          const i = i0 + ir + r;
          const q = p0 + p;
          v = alpha * (transA ? at(a, q * m + i) : at(a, i * k + q));
        }
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** op(B) block rows [p0, p0 + kc) x cols [j0, j0 + nc) into NR-column panels. */
function packB(
  b: usize,
  n: i32,
  k: i32,
  transB: bool,
  p0: i32,
  kc: i32,
  j0: i32,
  nc: i32,
  dst: usize,
): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    for (let p = 0; p < kc; p++) {
      const q = p0 + p;
      if (!transB && cols == NR) {
        v128.store(dst, v128.load(b + (<usize>(q * n + j0 + jr) << 2)));
        v128.store(dst, v128.load(b + (<usize>(q * n + j0 + jr + 4) << 2)), 16);
        dst += 32;
        continue;
      }
      for (let c = 0; c < NR; c++) {
        let v: f32 = 0;
        if (c < cols) {
          const j = j0 + jr + c;
          v = transB ? at(b, j * k + q) : at(b, q * n + j);
        }
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** C tile [MR, NR] at c (row stride ldc floats) += packed A panel x packed B panel over kc. */
@inline function microKernel(pa: usize, pb: usize, kc: i32, c: usize, ldc: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  let c40 = f32x4.splat(0);
  let c41 = f32x4.splat(0);
  let c50 = f32x4.splat(0);
  let c51 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = v128.load32_splat(pa);
    c00 = f32x4.relaxed_madd(a, b0, c00);
    c01 = f32x4.relaxed_madd(a, b1, c01);
    a = v128.load32_splat(pa, 4);
    c10 = f32x4.relaxed_madd(a, b0, c10);
    c11 = f32x4.relaxed_madd(a, b1, c11);
    a = v128.load32_splat(pa, 8);
    c20 = f32x4.relaxed_madd(a, b0, c20);
    c21 = f32x4.relaxed_madd(a, b1, c21);
    a = v128.load32_splat(pa, 12);
    c30 = f32x4.relaxed_madd(a, b0, c30);
    c31 = f32x4.relaxed_madd(a, b1, c31);
    a = v128.load32_splat(pa, 16);
    c40 = f32x4.relaxed_madd(a, b0, c40);
    c41 = f32x4.relaxed_madd(a, b1, c41);
    a = v128.load32_splat(pa, 20);
    c50 = f32x4.relaxed_madd(a, b0, c50);
    c51 = f32x4.relaxed_madd(a, b1, c51);
    pa += 24;
    pb += 32;
  }
  const s = <usize>ldc << 2;
  v128.store(c, f32x4.add(v128.load(c), c00));
  v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
  c += s;
  v128.store(c, f32x4.add(v128.load(c), c10));
  v128.store(c, f32x4.add(v128.load(c, 16), c11), 16);
  c += s;
  v128.store(c, f32x4.add(v128.load(c), c20));
  v128.store(c, f32x4.add(v128.load(c, 16), c21), 16);
  c += s;
  v128.store(c, f32x4.add(v128.load(c), c30));
  v128.store(c, f32x4.add(v128.load(c, 16), c31), 16);
  c += s;
  v128.store(c, f32x4.add(v128.load(c), c40));
  v128.store(c, f32x4.add(v128.load(c, 16), c41), 16);
  c += s;
  v128.store(c, f32x4.add(v128.load(c), c50));
  v128.store(c, f32x4.add(v128.load(c, 16), c51), 16);
}

/** Rows [m0, m1) of C = alpha op(A) op(B) + beta C; `scratch` holds scratchFloats() floats. */
export function sgemm(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  transA: bool,
  transB: bool,
  alpha: f32,
  beta: f32,
  m0: i32,
  m1: i32,
  scratch: usize,
): void {
  if (m1 <= m0 || n == 0) return;
  // beta: 0 writes C without reading it (BLAS semantics: NaN in C does not propagate).
  if (beta != 1) {
    for (let i = m0; i < m1; i++) {
      const row = c + (<usize>(i * n) << 2);
      for (let j = 0; j < n; j++) {
        const q = row + (<usize>j << 2);
        store<f32>(q, beta == 0 ? 0 : beta * load<f32>(q));
      }
    }
  }
  if (k == 0 || alpha == 0) return;
  const pa = scratch;
  const pb = pa + (<usize>(MC * KC) << 2);
  const tile = pb + (<usize>(KC * NC) << 2);
  for (let j0 = 0; j0 < n; j0 += NC) {
    const nc = min(NC, n - j0);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      packB(b, n, k, transB, p0, kc, j0, nc, pb);
      for (let i0 = m0; i0 < m1; i0 += MC) {
        const mc = min(MC, m1 - i0);
        packA(a, m, k, transA, alpha, i0, mc, p0, kc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bp = pb + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const ap = pa + (<usize>(ir * kc) << 2);
            const cp = c + (<usize>((i0 + ir) * n + j0 + jr) << 2);
            if (rows == MR && cols == NR) {
              microKernel(ap, bp, kc, cp, n);
              continue;
            }
            memory.fill(tile, 0, <usize>(MR * NR) << 2);
            microKernel(ap, bp, kc, tile, NR);
            for (let r = 0; r < rows; r++) {
              for (let q = 0; q < cols; q++) {
                const dst = cp + (<usize>(r * n + q) << 2);
                store<f32>(dst, load<f32>(dst) + at(tile, r * NR + q));
              }
            }
          }
        }
      }
    }
  }
}

// The fast engine's sparse products, selection and optimiser passes share this module, its memory and its
// helper threads.
export {
  sparseAccumulate,
  sparseBackward,
  sparseDecode,
  sparseDots,
} from "./sparse";
export { adam, normalizeRows, projectRows } from "./update";
export { thresholdRows, topkRows } from "./select";
