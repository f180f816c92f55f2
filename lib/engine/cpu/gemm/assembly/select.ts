// AssemblyScript source of the fast engine's latent selection (part of lib/engine/cpu/gemm/sgemm.wasm):
// JumpReLU's threshold scan and TopK's per-row k-th largest value, over rows [r0, r1) of the
// pre-activations [B, F] (one thread's share). A SIMD pass skips the four-latent groups with
// nothing to keep; the kept entries are decided by the same scalar tests as the TypeScript
// versions (lib/sae/jumprelu/kernel.ts, lib/engine/cpu/select_kth.ts), so the lists are identical.
// Each runs twice: first counting per row (`out` 0), then filling the lists at the row offsets.

@inline function ptr(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

/** The rectangle kernel test of jumprelu/kernel.ts inKernel(), in the same float64 steps. */
@inline function inKernel(z: f32, theta: f32, eps: f64): bool {
  const u = <f32>(<f64><f32>(<f64>z - <f64>theta) / eps);
  return u > -0.5 && u < 0.5;
}

/**
 * Rows [r0, r1): entries with pi > theta go to the active list, entries with
 * |pi - theta| < eps and K((pi - theta) / eps) != 0 to the near list (near 0: none), both with
 * val = pi. With fill 0, writes each row's counts to actCount[r] and nearCount[r]; with fill 1,
 * writes the entries from actStart[r] and nearStart[r] (the row starts of the lists).
 */
export function thresholdRows(
  pre: usize,
  theta: usize,
  f: i32,
  eps: f64,
  fill: i32,
  actStart: usize,
  actRow: usize,
  actCol: usize,
  actVal: usize,
  nearStart: usize,
  nearRow: usize,
  nearCol: usize,
  nearVal: usize,
  r0: i32,
  r1: i32,
): void {
  // A group is looked at when some lane is above its threshold or within 2 eps of it (a superset
  // of the exact tests below, which run in float64 as the TypeScript does).
  const band = f32x4.splat(<f32>(2 * eps));
  const withNear = nearStart != 0;
  for (let r = r0; r < r1; r++) {
    const row = pre + (<usize>r * <usize>f << 2);
    let na = fill ? load<i32>(ptr(actStart, r)) : 0;
    let nn = withNear && fill ? load<i32>(ptr(nearStart, r)) : 0;
    let i = 0;
    for (; i < f; i += 4) {
      if (i + 4 <= f) {
        const v = v128.load(row + (<usize>i << 2));
        const t = v128.load(theta + (<usize>i << 2));
        const look = withNear
          ? v128.or(f32x4.gt(v, t), f32x4.lt(f32x4.abs(f32x4.sub(v, t)), band))
          : f32x4.gt(v, t);
        if (!v128.any_true(look)) continue;
      }
      const end = min(i + 4, f);
      for (let q = i; q < end; q++) {
        const pi = load<f32>(row + (<usize>q << 2));
        const th = load<f32>(theta + (<usize>q << 2));
        if (pi > th) {
          if (fill) {
            store<i32>(ptr(actRow, na), r);
            store<i32>(ptr(actCol, na), q);
            store<f32>(ptr(actVal, na), pi);
          }
          na++;
        }
        if (withNear && Math.abs(<f64>pi - <f64>th) < eps && inKernel(pi, th, eps)) {
          if (fill) {
            store<i32>(ptr(nearRow, nn), r);
            store<i32>(ptr(nearCol, nn), q);
            store<f32>(ptr(nearVal, nn), pi);
          }
          nn++;
        }
      }
    }
    if (!fill) {
      store<i32>(ptr(actStart, r), na);
      if (withNear) store<i32>(ptr(nearStart, r), nn);
    }
  }
}

function siftDown(h: usize, i: i32, n: i32): void {
  const v = load<f32>(ptr(h, i));
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && load<f32>(ptr(h, c + 1)) < load<f32>(ptr(h, c))) c++;
    const hc = load<f32>(ptr(h, c));
    if (hc >= v) break;
    store<f32>(ptr(h, i), hc);
    i = c;
  }
  store<f32>(ptr(h, i), v);
}

/** The k-th largest of row[0 .. f) (1 <= k <= f) with a min-heap of k at `heap` (rowKth). */
function rowKth(row: usize, f: i32, k: i32, heap: usize): f32 {
  memory.copy(heap, row, <usize>k << 2);
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i, k);
  let m = load<f32>(heap);
  let i = k;
  for (; i < f; i++) {
    if ((i & 3) == 0 && i + 4 <= f) {
      // Skip four at once when none beats the heap's minimum.
      if (!v128.any_true(f32x4.gt(v128.load(row + (<usize>i << 2)), f32x4.splat(m)))) {
        i += 3;
        continue;
      }
    }
    const v = load<f32>(row + (<usize>i << 2));
    if (v > m) {
      store<f32>(heap, v);
      siftDown(heap, 0, k);
      m = load<f32>(heap);
    }
  }
  return m;
}

/**
 * Rows [r0, r1) of TopK's selection: keep the entries >= max(k-th largest, 0) that are > 0
 * (selectTopK in lib/sae/topk/kernel.ts). With fill 0, stores each row's threshold in kth[r]
 * and its count in start[r]; with fill 1, writes the entries from start[r]. `scratch` holds k
 * floats for the heap.
 */
export function topkRows(
  pre: usize,
  f: i32,
  k: i32,
  kth: usize,
  fill: i32,
  start: usize,
  rowOut: usize,
  colOut: usize,
  valOut: usize,
  r0: i32,
  r1: i32,
  scratch: usize,
): void {
  for (let r = r0; r < r1; r++) {
    const row = pre + (<usize>r * <usize>f << 2);
    let t: f32;
    if (fill) t = load<f32>(ptr(kth, r));
    else {
      t = max(rowKth(row, f, k, scratch), 0);
      store<f32>(ptr(kth, r), t);
    }
    let n = fill ? load<i32>(ptr(start, r)) : 0;
    const tv = f32x4.splat(t);
    for (let i = 0; i < f; i += 4) {
      if (i + 4 <= f && !v128.any_true(f32x4.ge(v128.load(row + (<usize>i << 2)), tv))) continue;
      const end = min(i + 4, f);
      for (let q = i; q < end; q++) {
        const v = load<f32>(row + (<usize>q << 2));
        if (v >= t && v > 0) {
          if (fill) {
            store<i32>(ptr(rowOut, n), r);
            store<i32>(ptr(colOut, n), q);
            store<f32>(ptr(valOut, n), v);
          }
          n++;
        }
      }
    }
    if (!fill) store<i32>(ptr(start, r), n);
  }
}
