import assert from "node:assert/strict";
import {
  buildSyntheticModel,
  createSyntheticSource,
  generateSynthetic,
} from "../../lib/data/synthetic.ts";
import { Rng } from "../../lib/data/rng.ts";
import { SyntheticData } from "../../lib/spec/schema.ts";
import { DataError } from "../../lib/errors.ts";

function config(overrides: Record<string, unknown> = {}): SyntheticData {
  return SyntheticData.parse({ source: "synthetic", ...overrides });
}

Deno.test("createSyntheticSource() is deterministic per seed and differs across seeds", async () => {
  const cfg = config({ d_model: 16, n_features: 64 });
  const a = createSyntheticSource(cfg, { streamSeed: 3 });
  const b = createSyntheticSource(cfg, { streamSeed: 3 });
  for (let i = 0; i < 3; i++) assert.deepEqual(await a.nextBatch(32), await b.nextBatch(32));
  assert.deepEqual(await a.sample(100), await b.sample(100));
  const c = createSyntheticSource(config({ d_model: 16, n_features: 64, seed: 99 }), {
    streamSeed: 3,
  });
  assert.notDeepEqual(c.groundTruth!.directions, a.groundTruth!.directions);
  const d = createSyntheticSource(cfg, { streamSeed: 4 });
  assert.notDeepEqual(
    await d.nextBatch(32),
    await createSyntheticSource(cfg, { streamSeed: 3 })
      .nextBatch(32),
  );
});

Deno.test("synthetic seek() to a saved cursor replays the same batches", async () => {
  const cfg = config({ d_model: 8, n_features: 32 });
  const a = createSyntheticSource(cfg, { streamSeed: 1 });
  await a.nextBatch(16);
  await a.nextBatch(16);
  const saved = JSON.parse(JSON.stringify(a.cursor()));
  assert.deepEqual(saved, { batch: 2 });
  const next = [await a.nextBatch(16), await a.nextBatch(16)];
  const b = createSyntheticSource(cfg, { streamSeed: 1 });
  b.seek(saved);
  assert.deepEqual([await b.nextBatch(16), await b.nextBatch(16)], next);
  // sample() does not move the cursor
  await b.sample(10);
  assert.deepEqual(b.cursor(), { batch: 4 });
  assert.throws(() => b.seek({ epoch: 1 }), DataError);
  assert.throws(() => b.seek({ batch: -1 }), DataError);
});

Deno.test("synthetic directions are unit vectors and batches have the configured shape", async () => {
  const src = createSyntheticSource(config({ d_model: 24, n_features: 50 }), { streamSeed: 0 });
  const { directions, nFeatures } = src.groundTruth!;
  assert.equal(nFeatures, 50);
  assert.equal(directions.length, 50 * 24);
  for (let i = 0; i < 50; i++) {
    let n2 = 0;
    for (let j = 0; j < 24; j++) n2 += directions[i * 24 + j] ** 2;
    assert.ok(Math.abs(Math.sqrt(n2) - 1) < 1e-6, `direction ${i} has norm ${Math.sqrt(n2)}`);
  }
  assert.equal((await src.nextBatch(7)).length, 7 * 24);
  assert.equal(src.dModel, 24);
});

Deno.test("synthetic firing: mean active count ≈ mean_active and frequencies follow the power law", () => {
  const cfg = config({ d_model: 4, n_features: 200, mean_active: 6, firing_exponent: 1 });
  const model = buildSyntheticModel(cfg);
  // p_i = c / (i + 1) with sum p_i = 6: c = 6 / H_200 = 6 / 5.878 = 1.0207, so p_0 clips at 1 and
  // the bisection raises c a little to compensate. Check the model, then the samples.
  let sum = 0;
  for (const p of model.probs) sum += p;
  assert.ok(Math.abs(sum - 6) < 1e-9, `sum of probabilities ${sum}`);
  assert.equal(model.probs[0], 1);
  assert.ok(Math.abs(model.probs[9] / model.probs[19] - 2) < 1e-12); // (20 / 10)^1
  const tokens = 20000;
  const fireCounts = new Int32Array(200);
  const rng = new Rng(5);
  for (let b = 0; b < tokens / 1000; b++) {
    generateSynthetic(model, rng, { n: 1000, stats: { fireCounts } });
  }
  const total = fireCounts.reduce((a, c) => a + c, 0);
  // Var of the per-token count = sum p(1-p) <= 6, so the mean over 20000 tokens has std <= 0.018.
  assert.ok(Math.abs(total / tokens - 6) < 5 * 0.018, `mean active ${total / tokens}`);
  assert.equal(fireCounts[0], tokens); // p_0 = 1
  // Power law: frequency of feature i * (i + 1) is constant. Features 1-10 vs 100-199 pooled:
  // expected ratio of mean (count * (i+1)) is 1; binomial noise is below 3% at these counts.
  const scaled = (from: number, to: number) => {
    let s = 0;
    for (let i = from; i < to; i++) s += fireCounts[i] * (i + 1);
    return s / (to - from);
  };
  const ratio = scaled(1, 11) / scaled(100, 200);
  assert.ok(Math.abs(ratio - 1) < 0.08, `power-law ratio ${ratio}`);
  // And ranks: counts decrease with the index (Spearman correlation of index vs count < -0.9).
  assert.ok(spearman(fireCounts) < -0.9, `rank correlation ${spearman(fireCounts)}`);
});

function spearman(values: Int32Array): number {
  const n = values.length;
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b]);
  const rank = new Float64Array(n);
  order.forEach((idx, r) => (rank[idx] = r));
  let d2 = 0;
  for (let i = 0; i < n; i++) d2 += (rank[i] - i) ** 2;
  return 1 - (6 * d2) / (n * (n * n - 1));
}

Deno.test("synthetic held-out set is fixed across streamSeeds and differs from training", async () => {
  const cfg = config({ d_model: 8, n_features: 32 });
  const a = createSyntheticSource(cfg, { streamSeed: 0 });
  const b = createSyntheticSource(cfg, { streamSeed: 7 });
  const h = await a.heldout(1500);
  assert.deepEqual(await b.heldout(1500), h);
  assert.deepEqual(await a.heldout(10), h.subarray(0, 80)); // prefixes agree
  const train = await a.nextBatch(1500);
  const sample = await a.sample(1500);
  const rows = (x: Float32Array) =>
    new Set(Array.from({ length: x.length / 8 }, (_, i) => x.subarray(i * 8, i * 8 + 8).join()));
  const heldRows = rows(h);
  for (const r of rows(train)) assert.ok(!heldRows.has(r), "a training row equals a held-out row");
  for (const r of rows(sample)) assert.ok(!heldRows.has(r), "a sample row equals a held-out row");
  assert.notDeepEqual(await b.sample(100), await a.sample(100));
});

Deno.test("synthetic correlated groups co-fire far more often than independence predicts", () => {
  const cfg = config({
    d_model: 4,
    n_features: 64,
    mean_active: 4,
    correlated_groups: 3,
    group_size: 3,
    group_prob: 0.8,
  });
  const model = buildSyntheticModel(cfg);
  const groups = Array.from(model.groupLeader, (leader) => {
    const g = model.groupOf[leader];
    return [
      leader,
      ...Array.from(model.groupOf.keys()).filter((i) => model.groupOf[i] === g && i !== leader),
    ];
  });
  assert.equal(groups.length, 3);
  for (const members of groups) assert.equal(members.length, 3);
  const tokens = 20000;
  const [leader, member] = groups[0];
  const active = new Uint8Array(tokens * 64);
  generateSynthetic(model, new Rng(8), { n: tokens, stats: { active } });
  let both = 0, lead = 0, mem = 0;
  for (let t = 0; t < tokens; t++) {
    lead += active[t * 64 + leader];
    mem += active[t * 64 + member];
    both += active[t * 64 + leader] & active[t * 64 + member];
  }
  // P(member | leader) = p_m + (1 - p_m) * 0.8 >= 0.8, versus P(member) alone.
  const pm = model.probs[member];
  const conditional = both / lead;
  assert.ok(lead > 100, `leader fired only ${lead} times`);
  assert.ok(Math.abs(conditional - (pm + (1 - pm) * 0.8)) < 0.1, `P(m | l) = ${conditional}`);
  assert.ok(conditional > 2 * (mem / tokens), `P(m | l) ${conditional} vs P(m) ${mem / tokens}`);
  // The expected active count includes the group contribution and still equals mean_active.
  assert.ok(Math.abs(model.expectedActive - 4) < 1e-9, `expected active ${model.expectedActive}`);
});

Deno.test("buildSyntheticModel() rejects groups that need more features than exist", () => {
  assert.throws(
    () => buildSyntheticModel(config({ n_features: 8, correlated_groups: 3, group_size: 3 })),
    DataError,
  );
});

Deno.test("synthetic magnitudes and noise: noise-free single-feature vectors lie on directions", () => {
  // With mean_active >= n_features every feature fires; with one feature, x = a d_0 exactly, and
  // a ~ max(0, N(1, 0.25^2)) so ||x|| = a has mean ≈ 1.
  const cfg = config({ d_model: 6, n_features: 1, mean_active: 1, noise_std: 0 });
  const model = buildSyntheticModel(cfg);
  const x = generateSynthetic(model, new Rng(2), { n: 2000 });
  let sumNorm = 0;
  for (let t = 0; t < 2000; t++) {
    let dot = 0, n2 = 0;
    for (let j = 0; j < 6; j++) {
      dot += x[t * 6 + j] * model.directions[j];
      n2 += x[t * 6 + j] ** 2;
    }
    assert.ok(Math.abs(dot * dot - n2) < 1e-5, "vector not along the direction");
    assert.ok(dot >= 0, "negative magnitude");
    sumNorm += Math.sqrt(n2);
  }
  // std of the mean: 0.25 / sqrt(2000) = 0.0056
  assert.ok(Math.abs(sumNorm / 2000 - 1) < 5 * 0.0056, `mean magnitude ${sumNorm / 2000}`);
});
