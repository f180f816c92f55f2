// Next-token distributions (temperature, nucleus/top-p) and draws from them, in float64 from a row
// of logits. The decoding loop is kv_decode.ts's; the sampled corpus and its cache sampled_corpus.ts's.

/** How a token is chosen from its logits. */
export interface SamplingOptions {
  /** Softmax temperature; 0 means argmax (the first maximum). */
  temperature: number;
  /** Keep the smallest set of most likely tokens whose probability reaches top_p (1: all). */
  topP: number;
}

/**
 * The distribution the next token is drawn from: softmax(logits / temperature), restricted to the
 * nucleus (tokens by decreasing probability, ties by id, until the kept mass reaches topP) and
 * renormalised. Temperature 0 gives a one-hot vector at the first maximum.
 */
export function tokenDistribution(
  logits: ArrayLike<number>,
  options: SamplingOptions,
): Float64Array {
  const V = logits.length;
  const probs = new Float64Array(V);
  let best = 0;
  for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
  if (options.temperature === 0) {
    probs[best] = 1;
    return probs;
  }
  let sum = 0;
  for (let i = 0; i < V; i++) {
    probs[i] = Math.exp((logits[i] - logits[best]) / options.temperature);
    sum += probs[i];
  }
  for (let i = 0; i < V; i++) probs[i] /= sum;
  if (options.topP >= 1) return probs;
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
  let kept = 0;
  let n = 0;
  while (n < V && kept < options.topP) kept += probs[order[n++]];
  for (let j = n; j < V; j++) probs[order[j]] = 0;
  for (let j = 0; j < n; j++) probs[order[j]] /= kept;
  return probs;
}

/** The token whose cumulative probability interval contains `u` in [0, 1). */
export function drawToken(probs: ArrayLike<number>, u: number): number {
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    cumulative += probs[i];
    last = i;
    if (u < cumulative) return i;
  }
  return last; // u beyond a sum that rounded below 1
}
