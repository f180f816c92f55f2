// The k-th largest value of a row (min-heap of size k) or of a whole non-negative float32 array
// (two-pass radix select on the bit patterns): the TopK / BatchTopK selection thresholds,
// with the same tie rule as tf.topk (every entry >= the k-th largest value is kept).

/** k-th largest of a[offset .. offset + length), 1 <= k <= length; `heap` has room for k. */
export function rowKth(
  a: Float32Array,
  offset: number,
  options: { length: number; k: number; heap: Float32Array },
): number {
  const { length, k, heap } = options;
  for (let i = 0; i < k; i++) heap[i] = a[offset + i];
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i, k);
  let min = heap[0];
  for (let i = k; i < length; i++) {
    const v = a[offset + i];
    if (v > min) {
      heap[0] = v;
      siftDown(heap, 0, k);
      min = heap[0];
    }
  }
  return min;
}

/** k-th largest among a[idx[0..n)] (1 <= k <= n); `heap` has room for k. */
export function indexedKth(
  a: Float32Array,
  idx: Int32Array,
  options: { offset: number; n: number; k: number; heap: Float32Array },
): number {
  const { offset, n, k, heap } = options;
  for (let i = 0; i < k; i++) heap[i] = a[offset + idx[i]];
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(heap, i, k);
  let min = heap[0];
  for (let i = k; i < n; i++) {
    const v = a[offset + idx[i]];
    if (v > min) {
      heap[0] = v;
      siftDown(heap, 0, k);
      min = heap[0];
    }
  }
  return min;
}

function siftDown(h: Float32Array, i: number, n: number): void {
  const v = h[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && h[c + 1] < h[c]) c++;
    if (h[c] >= v) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

const HIGH = new Uint32Array(65536);
const LOW = new Uint32Array(65536);

/**
 * k-th largest value of max(a, 0) for a float32 array (1 <= k <= a.length): negative entries
 * count as zeros. Non-negative floats order like their bit patterns, so two 16-bit histogram
 * passes find it exactly.
 */
export function globalKth(a: Float32Array, k: number): number {
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  HIGH.fill(0);
  for (let i = 0; i < bits.length; i++) HIGH[bits[i] >= 0x80000000 ? 0 : bits[i] >>> 16]++;
  let seen = 0;
  let hi = 65535;
  for (; hi > 0; hi--) {
    if (seen + HIGH[hi] >= k) break;
    seen += HIGH[hi];
  }
  LOW.fill(0);
  for (let i = 0; i < bits.length; i++) {
    const v = bits[i] >= 0x80000000 ? 0 : bits[i];
    if (v >>> 16 === hi) LOW[v & 0xffff]++;
  }
  let lo = 65535;
  for (; lo > 0; lo--) {
    if (seen + LOW[lo] >= k) break;
    seen += LOW[lo];
  }
  const out = new Uint32Array([((hi << 16) | lo) >>> 0]);
  return new Float32Array(out.buffer)[0];
}
