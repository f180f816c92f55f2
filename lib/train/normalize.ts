// Input normalisation and decoder-bias initialisation from a sample of training activations.
// Pure functions over row-major Float32Arrays [n, d]; lib/data/check_sample.ts vets the sample.
/**
 * The scalar C such that E||x / C||^2 = 1 over the sample (Gemma Scope §3.1): C = sqrt(mean ||x||^2).
 */
export function normalizationScale(x: Float32Array, d: number): number {
  const n = x.length / d;
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i] * x[i];
  const scale = Math.sqrt(sum / n);
  return scale > 0 && Number.isFinite(scale) ? scale : 1;
}

/** Column means [d]. */
export function mean(x: Float32Array, d: number): Float32Array {
  const n = x.length / d;
  const acc = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) acc[j] += x[i * d + j];
  return Float32Array.from(acc, (v) => v / n);
}

/**
 * Geometric median (the point minimising the sum of Euclidean distances) by Weiszfeld's
 * iteration, started at the mean; stops when a step moves less than `tol` (relative).
 */
export function geometricMedian(
  x: Float32Array,
  d: number,
  options: { maxIter?: number; tol?: number } = {},
): Float32Array {
  const n = x.length / d;
  const maxIter = options.maxIter ?? 100;
  const tol = options.tol ?? 1e-6;
  let y = Float64Array.from(mean(x, d));
  for (let it = 0; it < maxIter; it++) {
    const num = new Float64Array(d);
    let den = 0;
    for (let i = 0; i < n; i++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (x[i * d + j] - y[j]) ** 2;
      const w = 1 / Math.max(Math.sqrt(dist), 1e-12);
      den += w;
      for (let j = 0; j < d; j++) num[j] += w * x[i * d + j];
    }
    let move = 0;
    let size = 0;
    const next = num.map((v) => v / den);
    for (let j = 0; j < d; j++) {
      move += (next[j] - y[j]) ** 2;
      size += next[j] ** 2;
    }
    y = next;
    if (Math.sqrt(move) <= tol * Math.max(Math.sqrt(size), 1e-12)) break;
  }
  return Float32Array.from(y);
}

/** Scales x in place by 1 / scale and returns it. */
export function scaleInPlace(x: Float32Array, scale: number): Float32Array {
  const inv = 1 / scale;
  for (let i = 0; i < x.length; i++) x[i] *= inv;
  return x;
}
