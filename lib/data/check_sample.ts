// Checks that activations can be trained on: every value finite (named by where it was read),
// and a sample that is neither all zero nor constant. Pure; throws DataError.
import { DataError } from "../errors.ts";

/**
 * Throws a DataError at the first non-finite value of `x` ([rows, d]); `where(row)` names the row
 * in the message (e.g. `file.npy: row 1234`), the column is added.
 */
export function checkFinite(x: Float32Array, d: number, where: (row: number) => string): void {
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i])) continue;
    throw new DataError(
      `${where(Math.floor(i / d))}, column ${i % d} holds ${x[i]} (not a finite number)`,
      { hint: "remove or fix the non-finite activations (NaN or Inf) in the data" },
    );
  }
}

/**
 * Refuses a normalisation sample that cannot train an SAE: a non-finite value (named by row and
 * column of the sample), all-zero data, or rows that are all identical (zero variance, so FVU
 * would be undefined). `what` names the data in messages (e.g. the spec's data.path).
 */
export function checkSample(x: Float32Array, d: number, what: string): void {
  const n = x.length / d;
  checkFinite(x, d, (row) => `${what}: sample row ${row}`);
  const m = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j] / n;
  let energy = 0;
  let spread = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      energy += v * v;
      spread += (v - m[j]) ** 2;
    }
  }
  if (energy === 0) {
    throw new DataError(`${what}: all ${n} sampled activation vectors are zero`, {
      hint: "check that the activations were saved correctly (an all-zero file trains nothing)",
    });
  }
  if (spread <= 1e-12 * energy) {
    throw new DataError(`${what}: all ${n} sampled activation vectors are identical`, {
      hint: "constant data has no variance to explain (FVU is undefined); check the activations",
    });
  }
}
