// Tests lib/features/store.ts: feature data written to a run directory reads back unchanged (the
// context activations to F16 precision), and a run without features reads as null.
import assert from "node:assert/strict";
import { FeatureAccumulator } from "../../lib/features/collect.ts";
import { logitLens } from "../../lib/features/logit_lens.ts";
import { readFeatureData, writeFeatureData } from "../../lib/features/store.ts";
import { useBackend } from "../_tf.ts";
import { loadGolden } from "./_golden.ts";

await useBackend("wasm");
const g = await loadGolden();

Deno.test("readFeatureData() returns what writeFeatureData() wrote", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await readFeatureData(dir), null);
    const acc = new FeatureAccumulator(g.width);
    acc.add(g.f, g.rows);
    const data = {
      ...acc.finish(g, g.options),
      ...await logitLens(g.decoder, g, { tokens: 3 }),
      vocab: ["<unk>", "<s>", "</s>", "a", " b", "\n", "c", "d"],
    };
    data.contextActs[5] = 0.1; // not exact in F16
    const measures = { top_token_entropy: 1, same_token_frac: 0.5, decoder_mmcs: null };
    await writeFeatureData(dir, data, measures);
    const back = (await readFeatureData(dir))!;
    assert.deepEqual(back.measures, measures);
    const { contextActs, ...rest } = back.data;
    const { contextActs: wantActs, ...wantRest } = data;
    assert.deepEqual(rest, wantRest);
    wantActs.forEach((v, i) => assert.ok(Math.abs(contextActs[i] - v) <= 1e-3 * Math.abs(v)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
