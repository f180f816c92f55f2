// Length-n vector kernels on Float32Array slices (offset + length), shared by the fast path's
// loops. Hot inner loops live in these small functions so V8 optimises them as whole functions:
// a nested loop in a rarely called function runs as on-stack-replaced code that deoptimises on
// every exit of its inner loop (measured: 7x slower row passes). Private to lib/engine/cpu/.

/** y[yo .. yo + n) += a * x[xo .. xo + n). */
export function axpy(
  a: number,
  x: Float32Array,
  xo: number,
  y: Float32Array,
  yo: number,
  n: number,
): void {
  for (let k = 0; k < n; k++) y[yo + k] += a * x[xo + k];
}

/** x[xo .. xo + n) . y[yo .. yo + n), accumulated in four lanes. */
export function dot(x: Float32Array, xo: number, y: Float32Array, yo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += x[xo + k] * y[yo + k];
    s1 += x[xo + k + 1] * y[yo + k + 1];
    s2 += x[xo + k + 2] * y[yo + k + 2];
    s3 += x[xo + k + 3] * y[yo + k + 3];
  }
  for (; k < n; k++) s0 += x[xo + k] * y[yo + k];
  return s0 + s1 + s2 + s3;
}

/** y[yo .. yo + n) += b[0 .. n) (adds a bias row) — also used as a plain row add. */
export function addRow(b: Float32Array, y: Float32Array, yo: number, n: number): void {
  for (let k = 0; k < n; k++) y[yo + k] += b[k];
}

/** y[yo .. yo + n) *= s. */
export function scaleRow(s: number, y: Float32Array, yo: number, n: number): void {
  for (let k = 0; k < n; k++) y[yo + k] *= s;
}
