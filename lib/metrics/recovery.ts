// Feature recovery on synthetic data: how well decoder rows match the true feature directions
// (mmcs, recovered_frac). Plain loops over Float32Arrays; the caller supplies both matrices.

/** Recovery of true features by an SAE's decoder (DESIGN.md section 7, synthetic only). */
export interface RecoveryMetrics {
  /** Mean over true features of the max cosine similarity with any decoder row. */
  mmcs: number;
  /** Fraction of true features whose max cosine exceeds the threshold. */
  recovered_frac: number;
  /** Max cosine of each true feature, [N]. */
  max_cos: Float32Array;
}

function unitRows(m: Float32Array, rows: number, d: number): Float32Array {
  const out = new Float32Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let n2 = 0;
    for (let j = 0; j < d; j++) n2 += m[r * d + j] * m[r * d + j];
    const inv = n2 > 0 ? 1 / Math.sqrt(n2) : 0; // a zero row has cosine 0 with everything
    for (let j = 0; j < d; j++) out[r * d + j] = m[r * d + j] * inv;
  }
  return out;
}

/**
 * Compares decoder rows [F, D] with true directions [N, D] (neither needs unit norm). Signed
 * cosine: a decoder row pointing against a feature does not recover it. Cost O(N F D).
 */
export function featureRecovery(
  decoderRows: Float32Array,
  trueDirections: Float32Array,
  options: { dModel: number; threshold?: number },
): RecoveryMetrics {
  const { dModel: d, threshold = 0.9 } = options;
  if (decoderRows.length % d !== 0 || trueDirections.length % d !== 0) {
    throw new RangeError(`featureRecovery(): matrix sizes are not multiples of dModel ${d}`);
  }
  const f = decoderRows.length / d, n = trueDirections.length / d;
  const dec = unitRows(decoderRows, f, d);
  const tru = unitRows(trueDirections, n, d);
  const maxCos = new Float32Array(n).fill(f > 0 ? -Infinity : 0);
  let sum = 0, recovered = 0;
  for (let i = 0; i < n; i++) {
    const ti = i * d;
    let best = maxCos[i];
    for (let k = 0; k < f; k++) {
      const dk = k * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += tru[ti + j] * dec[dk + j];
      if (dot > best) best = dot;
    }
    maxCos[i] = best;
    sum += best;
    if (best > threshold) recovered++;
  }
  return { mmcs: sum / n, recovered_frac: recovered / n, max_cos: maxCos };
}
