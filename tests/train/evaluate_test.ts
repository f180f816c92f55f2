// Tests lib/train/evaluate.ts's LM part against hand-computed values: the splice hands the SAE
// activations divided by the run's normalisation scalar and returns its reconstruction multiplied
// back (raw units), and delta_lm_loss / ce_loss_recovered follow DESIGN.md section 7 from the
// source's three cross-entropies. The engine and source are small fakes with known outputs, so
// every expected number below is written out by hand. Shapes: n rows, D = 2 dims, F = 3 latents.
import assert from "node:assert/strict";
import type { ActivationSource, LmEvaluation, Reconstructor } from "../../lib/data/source.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import { evaluateEngine } from "../../lib/train/evaluate.ts";

const D = 2, F = 3;

/** Encodes x to f = [x0, 0, 0] and xHat = x + 1 (an affine map, so scaling mistakes show). */
function fakeEngine(seen: number[][]): Engine {
  return {
    backend: "fake",
    encode(x: Float32Array, n: number) {
      seen.push(Array.from(x));
      const f = new Float32Array(n * F);
      for (let r = 0; r < n; r++) f[r * F] = x[r * D];
      return { f, xHat: x.map((v) => v + 1) };
    },
  } as unknown as Engine;
}

/** An lm source whose splice sees `raw` and reports fixed cross-entropies. */
function fakeSource(raw: number[], ce: Omit<LmEvaluation, "tokens">, got: number[][]) {
  return {
    dModel: D,
    heldout: () => Promise.resolve(new Float32Array([4, 8, 12, 16])),
    async evaluateLm(reconstruct: Reconstructor): Promise<LmEvaluation> {
      const input = new Float32Array(raw);
      got.push(Array.from(await reconstruct(input, raw.length / D)));
      assert.deepEqual(Array.from(input), raw, "the splice must not modify its input");
      return { ...ce, tokens: 10 };
    },
  } as unknown as ActivationSource;
}

const OPTIONS = {
  tokens: 2,
  width: F,
  scale: 4,
  decoderParam: "W_dec",
  denseThreshold: 0.1,
  recoveredCos: 0.9,
};

Deno.test("evaluateEngine() splices the SAE in raw units: x / scale in, xHat * scale out", async () => {
  const seen: number[][] = [];
  const got: number[][] = [];
  const ce = { ce_clean: 1.25, ce_spliced: 1.5, ce_zero_ablated: 3.25 };
  await evaluateEngine(fakeEngine(seen), fakeSource([4, -8, 2, 6], ce, got), OPTIONS);
  // seen[0] is the held-out set [4, 8, 12, 16] / 4; seen[1] the splice's rows / 4.
  assert.deepEqual(seen, [[1, 2, 3, 4], [1, -2, 0.5, 1.5]]);
  // By hand: (x / 4 + 1) * 4 = x + 4.
  assert.deepEqual(got, [[8, -4, 6, 10]]);
});

Deno.test("evaluateEngine() gives delta_lm_loss and ce_loss_recovered of DESIGN.md section 7", async () => {
  const cases: [Omit<LmEvaluation, "tokens">, number, number][] = [
    // delta = 1.5 - 1.25; recovered = (3.25 - 1.5) / (3.25 - 1.25) = 1.75 / 2
    [{ ce_clean: 1.25, ce_spliced: 1.5, ce_zero_ablated: 3.25 }, 0.25, 0.875],
    // a splice worse than zero ablation: delta 3, recovered (2 - 4) / (2 - 1) = -2
    [{ ce_clean: 1, ce_spliced: 4, ce_zero_ablated: 2 }, 3, -2],
    // a perfect splice: delta 0, recovered 1
    [{ ce_clean: 2, ce_spliced: 2, ce_zero_ablated: 6 }, 0, 1],
  ];
  for (const [ce, delta, recovered] of cases) {
    const r = await evaluateEngine(fakeEngine([]), fakeSource([1, 1], ce, []), OPTIONS);
    assert.equal(r.ce_clean, ce.ce_clean);
    assert.equal(r.ce_spliced, ce.ce_spliced);
    assert.equal(r.ce_zero_ablated, ce.ce_zero_ablated);
    assert.equal(r.delta_lm_loss, delta);
    assert.equal(r.ce_loss_recovered, recovered);
  }
  // Zero ablation no worse than the clean model: the ratio is undefined, reported as NaN.
  const flat = { ce_clean: 2, ce_spliced: 2.5, ce_zero_ablated: 2 };
  const r = await evaluateEngine(fakeEngine([]), fakeSource([1, 1], flat, []), OPTIONS);
  assert.ok(Number.isNaN(r.ce_loss_recovered));
  assert.equal(r.delta_lm_loss, 0.5);
});

Deno.test("evaluateEngine() reports held-out metrics in normalised units and mse_raw in raw units", async () => {
  // Normalised x = [[1, 2], [3, 4]], xHat = x + 1: squared error 2 per row, so mse = 2 and
  // mse_raw = 2 * 4^2 = 32; mean(x) = [2, 3], sum ||x - mean||^2 = 4, fvu = 4 / 4 = 1.
  const r = await evaluateEngine(
    fakeEngine([]),
    fakeSource([1, 1], { ce_clean: 1, ce_spliced: 1, ce_zero_ablated: 2 }, []),
    OPTIONS,
  );
  assert.equal(r.eval_tokens, 2);
  assert.equal(r.mse, 2);
  assert.equal(r.mse_raw, 32);
  assert.equal(r.fvu, 1);
  assert.equal(r.l0, 1); // latent 0 fires on both rows
  assert.equal(r.dead_frac, 2 / 3);
});
