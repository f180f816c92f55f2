// AssemblyScript source of the fast engine's sparse products (part of lib/engine/cpu/gemm/sgemm.wasm): an
// active list (CSR rows, or entries grouped by latent through colStart/order) against dense
// row-major matrices, with plain (not relaxed) SIMD so results do not depend on the CPU. Each
// function takes a half-open range of rows or latents: one thread's share. Pointers are byte
// addresses into the shared memory; JavaScript owns the layout (see lib/engine/cpu/wasm_sparse.ts).

@inline function ptr(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

/** y[0 .. n) += a * x[0 .. n). */
@inline function axpy(a: f32, x: usize, y: usize, n: i32): void {
  const av = f32x4.splat(a);
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    const o = <usize>k << 2;
    v128.store(y + o, f32x4.add(v128.load(y + o), f32x4.mul(av, v128.load(x + o))));
    v128.store(y + o, f32x4.add(v128.load(y + o, 16), f32x4.mul(av, v128.load(x + o, 16))), 16);
  }
  for (; k < n; k++) {
    const o = <usize>k << 2;
    store<f32>(y + o, load<f32>(y + o) + a * load<f32>(x + o));
  }
}

/** x[0 .. n) . y[0 .. n) in eight lanes. */
@inline function dot(x: usize, y: usize, n: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= n; k += 8) {
    const o = <usize>k << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
  }
  const s = f32x4.add(s0, s1);
  let t: f32 = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) +
    (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  for (; k < n; k++) t += load<f32>(x + (<usize>k << 2)) * load<f32>(y + (<usize>k << 2));
  return t;
}

/**
 * Rows [r0, r1) of out [B, D] = bias (or 0 when bias is 0) + sum over the row's entries j of
 * coef[j] * w[col[j], :].
 */
export function sparseDecode(
  rowStart: usize,
  col: usize,
  coef: usize,
  w: usize,
  d: i32,
  out: usize,
  bias: usize,
  r0: i32,
  r1: i32,
): void {
  const bytes = <usize>d << 2;
  for (let r = r0; r < r1; r++) {
    const o = out + <usize>r * bytes;
    if (bias) memory.copy(o, bias, bytes);
    else memory.fill(o, 0, bytes);
    const end = load<i32>(ptr(rowStart, r + 1));
    for (let j = load<i32>(ptr(rowStart, r)); j < end; j++) {
      axpy(load<f32>(ptr(coef, j)), w + <usize>load<i32>(ptr(col, j)) * bytes, o, d);
    }
  }
}

/** Entries [j0, j1): out[j] = a[row[j], :] . w[col[j], :]. */
export function sparseDots(
  row: usize,
  col: usize,
  a: usize,
  w: usize,
  d: i32,
  out: usize,
  j0: i32,
  j1: i32,
): void {
  const bytes = <usize>d << 2;
  for (let j = j0; j < j1; j++) {
    const x = a + <usize>load<i32>(ptr(row, j)) * bytes;
    store<f32>(ptr(out, j), dot(x, w + <usize>load<i32>(ptr(col, j)) * bytes, d));
  }
}

/**
 * The fused backward of a decoder-encoder pair for latents [i0, i1), per entry j = (b, i):
 * grad[j] = dy[b, :] . w[i, :] + add[i] (add 0: none); gW[i, :] += val[j] dy[b, :];
 * gSrc[i, :] += grad[j] src[b, :]. Walks the entries in row order, so the row's dy and src stay in
 * cache while the latents' rows of w, gW and gSrc are visited (measured 1-4x faster than grouping
 * by latent at the bench shapes, never slower beyond noise); each latent's rows accumulate in ascending b either way.
 * A thread skips entries outside its latents.
 */
export function sparseBackward(
  rowStart: usize,
  col: usize,
  val: usize,
  grad: usize,
  add: usize,
  dy: usize,
  w: usize,
  gW: usize,
  src: usize,
  gSrc: usize,
  d: i32,
  rows: i32,
  i0: i32,
  i1: i32,
): void {
  const bytes = <usize>d << 2;
  for (let r = 0; r < rows; r++) {
    const bo = <usize>r * bytes;
    const end = load<i32>(ptr(rowStart, r + 1));
    for (let j = load<i32>(ptr(rowStart, r)); j < end; j++) {
      const i = load<i32>(ptr(col, j));
      if (i < i0 || i >= i1) continue;
      const io = <usize>i * bytes;
      const g = dot(dy + bo, w + io, d) + (add ? load<f32>(ptr(add, i)) : 0);
      store<f32>(ptr(grad, j), g);
      axpy(load<f32>(ptr(val, j)), dy + bo, gW + io, d);
      axpy(g, src + bo, gSrc + io, d);
    }
  }
}

/**
 * Latents [i0, i1) of g[col[j], :] += coef[j] * src[row, :], walking the entries in row order
 * (each src row read once, from cache: ~3x faster than grouping by latent); each latent's rows
 * accumulate in ascending b. A thread skips entries outside its latents.
 */
export function sparseAccumulate(
  rowStart: usize,
  col: usize,
  coef: usize,
  src: usize,
  g: usize,
  d: i32,
  rows: i32,
  i0: i32,
  i1: i32,
): void {
  const bytes = <usize>d << 2;
  for (let r = 0; r < rows; r++) {
    const s = src + <usize>r * bytes;
    const end = load<i32>(ptr(rowStart, r + 1));
    for (let j = load<i32>(ptr(rowStart, r)); j < end; j++) {
      const i = load<i32>(ptr(col, j));
      if (i < i0 || i >= i1) continue;
      axpy(load<f32>(ptr(coef, j)), s, g + <usize>i * bytes, d);
    }
  }
}
