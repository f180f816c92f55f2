import assert from "node:assert/strict";
import { Rng } from "../../lib/data/rng.ts";
import { drawToken, tokenDistribution } from "../../lib/lm/sample.ts";

const close = (got: ArrayLike<number>, want: number[], tol = 1e-12) =>
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= tol, `[${i}] ${got[i]} vs ${w}`));

// Logits ln 1, ln 2, ln 3, ln 4: at temperature 1 the probabilities are 1/10, 2/10, 3/10, 4/10.
const logits = [0, Math.log(2), Math.log(3), Math.log(4)];

Deno.test("tokenDistribution() is the softmax of logits / temperature", () => {
  close(tokenDistribution(logits, { temperature: 1, topP: 1 }), [0.1, 0.2, 0.3, 0.4]);
  // Temperature 2: proportional to sqrt(1), sqrt(2), sqrt(3), 2; sum 6.146264369941973.
  const z = 1 + Math.SQRT2 + Math.sqrt(3) + 2;
  close(tokenDistribution(logits, { temperature: 2, topP: 1 }), [
    1 / z,
    Math.SQRT2 / z,
    Math.sqrt(3) / z,
    2 / z,
  ]);
  // Temperature 0.5: proportional to 1, 4, 9, 16; sum 30.
  close(tokenDistribution(logits, { temperature: 0.5, topP: 1 }), [
    1 / 30,
    4 / 30,
    9 / 30,
    16 / 30,
  ]);
  // Temperature 0: one-hot at the first maximum.
  assert.deepEqual(Array.from(tokenDistribution([1, 3, 3, 2], { temperature: 0, topP: 1 })), [
    0,
    1,
    0,
    0,
  ]);
});

Deno.test("tokenDistribution() keeps the smallest nucleus reaching top_p and renormalises it", () => {
  // 0.4 < 0.5, then 0.4 + 0.3 = 0.7 >= 0.5: keep tokens 3 and 2 as 4/7 and 3/7.
  close(tokenDistribution(logits, { temperature: 1, topP: 0.5 }), [0, 0, 3 / 7, 4 / 7]);
  // 0.4 >= 0.35: the most likely token alone.
  close(tokenDistribution(logits, { temperature: 1, topP: 0.35 }), [0, 0, 0, 1]);
  // 0.9 needs 0.4 + 0.3 + 0.2: tokens 1..3 as 2/9, 3/9, 4/9.
  close(tokenDistribution(logits, { temperature: 1, topP: 0.85 }), [0, 2 / 9, 3 / 9, 4 / 9]);
  // Exactly at top_p the nucleus stops: four equal logits give 1/4 each (exact in binary), and
  // 1/4 + 1/4 = 0.5 reaches top_p 0.5 with two tokens; ties are kept in id order.
  assert.deepEqual(Array.from(tokenDistribution([0, 0, 0, 0], { temperature: 1, topP: 0.5 })), [
    0.5,
    0.5,
    0,
    0,
  ]);
  // Temperature applies before the nucleus: at T=0.5 (1, 4, 9, 16)/30, 16/30 = 0.533 >= 0.5.
  close(tokenDistribution(logits, { temperature: 0.5, topP: 0.5 }), [0, 0, 0, 1]);
});

Deno.test("drawToken() maps u to the token whose cumulative interval holds it", () => {
  const p = [0, 0, 3 / 7, 4 / 7];
  assert.equal(drawToken(p, 0), 2);
  assert.equal(drawToken(p, 3 / 7 - 1e-9), 2);
  assert.equal(drawToken(p, 3 / 7 + 1e-9), 3);
  assert.equal(drawToken(p, 0.999999), 3);
  assert.equal(drawToken([0.5, 0.5, 0], 0.9999999999), 1); // never a zero-probability token
});

Deno.test("draws from a seeded Rng follow the hand-computed distribution", () => {
  // 40,000 draws at temperature 2, top_p 0.8: weights sqrt(1..4) / 6.146 = 0.163, 0.230, 0.282,
  // 0.325; 0.325 + 0.282 = 0.607 < 0.8, + 0.230 = 0.837 >= 0.8, so token 0 is dropped.
  const probs = tokenDistribution(logits, { temperature: 2, topP: 0.8 });
  const z = Math.SQRT2 + Math.sqrt(3) + 2;
  close(probs, [0, Math.SQRT2 / z, Math.sqrt(3) / z, 2 / z]);
  const rng = new Rng(3);
  const n = 40000;
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) counts[drawToken(probs, rng.uniform())]++;
  for (let i = 0; i < 4; i++) {
    const sd = Math.sqrt(n * probs[i] * (1 - probs[i]));
    assert.ok(Math.abs(counts[i] - n * probs[i]) <= 4 * sd + 1e-9, `token ${i}: ${counts[i]}`);
  }
});
