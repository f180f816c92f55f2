// End to end on real stories260K runs: finishRun writes features/ whose frequencies agree with
// summary.json, and whose top contexts are the text and activations an independent path gives
// (the model's harvest of the tokenized documents, encoded by the exported SAELens directory).
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSaeDirectory } from "../../lib/export/saelens.ts";
import { contextSlots, windowLength } from "../../lib/features/feature_data.ts";
import { readFeatureData } from "../../lib/features/store.ts";
import { harvestActivations } from "../../lib/lm/harvest.ts";
import { type RunSummary, SUMMARY_FIELDS } from "../../lib/store/records.ts";
import { fixtureDocuments, loadStories260k } from "../lm/_fixtures.ts";
import { trainTinyLmRuns } from "./_lm_runs.ts";

Deno.test("lm runs store feature data that matches the text and an independent encoding", async () => {
  const dir = await Deno.makeTempDir({ prefix: "saesweep_features_" });
  try {
    const { plans } = await trainTinyLmRuns(dir);
    // The held-out rows, built independently: the first documents, BOS + 63 tokens each.
    const { model, tokenizer } = await loadStories260k();
    const docs = (await fixtureDocuments("tinystories_valid_head.txt")).slice(0, 40)
      .map((d) => tokenizer.encode(d, { bos: true }).slice(0, 64));
    const where: [number, number][] = [];
    docs.forEach((d, k) => d.forEach((_, p) => p > 0 && where.push([k, p])));
    const rows = 1024;
    const acts = await harvestActivations(model, docs, {
      site: "resid_post",
      layer: 2,
      excludeBos: true,
      maxRows: rows,
    });
    model.dispose();
    for (const plan of plans) {
      const summary: RunSummary = JSON.parse(
        await Deno.readTextFile(join(plan.runDir, "summary.json")),
      );
      // Every field written is declared for the report (lm runs write the lm-only ones).
      const undeclared = Object.keys(summary).filter((k) => !(k in SUMMARY_FIELDS));
      assert.deepEqual(undeclared, []);
      const { data, measures } = (await readFeatureData(plan.runDir))!;
      const F = data.width, o = data.options, C = contextSlots(o), W = windowLength(o);
      assert.equal(data.rows, rows);
      const freq = Array.from(data.frequency);
      assert.equal(freq.filter((f) => f === 0).length / F, summary.dead_frac);
      assert.equal(freq.filter((f) => f > 0.1).length / F, summary.dense_frac);
      assert.ok(Math.abs(freq.reduce((a, b) => a + b, 0) - summary.l0) < 1e-4);
      assert.equal(measures.decoder_mmcs, summary.decoder_mmcs);
      assert.equal(data.vocab[tokenizer.encode("Lily")[0]], " Lily");

      const sae = await loadSaeDirectory(join(plan.runDir, "sae"));
      const f = await sae.encode(acts, rows); // [rows, F], raw units
      for (let i = 0; i < F; i++) {
        let best = 0;
        for (let r = 0; r < rows; r++) best = Math.max(best, f[r * F + i]);
        const top = data.contextValue[i * C];
        assert.ok(Math.abs(top - best) <= 1e-3 * (1 + best), `latent ${i}: ${top} vs ${best}`);
        if (best === 0) continue;
        for (let slot = 0; slot < C; slot++) {
          const row = data.contextRow[i * C + slot];
          if (row < 0) continue;
          const [k, p] = where[row];
          const value = data.contextValue[i * C + slot];
          assert.ok(Math.abs(f[row * F + i] - value) <= 1e-3 * (1 + value));
          for (let w = 0; w < W; w++) {
            const q = p - o.before + w;
            const want = q >= 0 && q < docs[k].length ? docs[k][q] : -1;
            assert.equal(data.contextTokens[(i * C + slot) * W + w], want);
          }
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
