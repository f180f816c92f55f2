import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { type LlamaCheckpoint, loadCheckpoint } from "../../lib/lm/checkpoint.ts";
import { crossEntropySum, nextTokenTargets } from "../../lib/lm/cross_entropy.ts";
import { greedyDecode } from "../../lib/lm/generate.ts";
import { hookKey, type HookPoint } from "../../lib/lm/model.ts";
import { packSequences } from "../../lib/lm/token_batch.ts";
import { BOS_ID } from "../../lib/lm/tokenizer.ts";
import { CHECKPOINT, fixtureDocuments, loadStories260k } from "./_fixtures.ts";

const { model, tokenizer } = await loadStories260k();
const checkpoint = await loadCheckpoint(CHECKPOINT);

Deno.test("greedy decoding from BOS reproduces the fixture README's sentence", async () => {
  const ids = await greedyDecode(model, [BOS_ID], { maxTokens: 32 });
  const text = tokenizer.decode([BOS_ID, ...ids]);
  assert.ok(
    text.startsWith(
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
    ),
    text,
  );
});

Deno.test("mean cross-entropy over tinystories_sample.txt is 1.266 nats over 1,804 tokens", async () => {
  // The README's procedure: stories stripped, encoded with BOS, truncated to 512 tokens; every
  // prediction counts (exclude BOS off). With BOS excluded, the 5 predictions made from BOS go.
  const stories = await fixtureDocuments("tinystories_sample.txt");
  const batch = packSequences(stories.map((s) => tokenizer.encode(s, { bos: true }).slice(0, 512)));
  const { logits } = model.forward(batch);
  for (const [excludeBos, count] of [[false, 1804], [true, 1799]] as const) {
    const targets = nextTokenTargets(batch, { excludeBos });
    const sum = crossEntropySum(logits!, targets);
    assert.equal(targets.count, count);
    const ce = (await sum.data())[0] / targets.count;
    sum.dispose();
    if (!excludeBos) assert.ok(Math.abs(ce - 1.266) <= 0.005, `ce = ${ce}`);
  }
  logits!.dispose();
});

Deno.test("forward() matches a plain-JS run.c reference at every hook site", async () => {
  const tokens = [BOS_ID, ...tokenizer.encode("Lily saw a big red ball.")];
  const ref = referenceForward(checkpoint, tokens);
  const points = (["resid_pre", "attn_out", "mlp_out", "resid_post"] as const).flatMap((site) =>
    [0, 4].map((layer) => ({ site, layer }))
  );
  const { logits, captured } = model.forward(packSequences([tokens]), { capture: points });
  const close = (got: Float32Array, want: Float64Array, what: string) => {
    const err = Math.max(...got.map((g, i) => Math.abs(g - want[i])));
    assert.ok(err < 2e-4, `${what}: max abs error ${err}`);
  };
  close(await logits!.data() as Float32Array, ref.logits, "logits");
  for (const p of points) {
    close(await captured[hookKey(p)].data() as Float32Array, ref.sites[hookKey(p)], hookKey(p));
  }
  tf.dispose([logits!, ...Object.values(captured)]);
});

Deno.test("resid_post of block L is resid_pre of block L + 1 and the sum of the block's parts", async () => {
  const batch = packSequences([[BOS_ID, ...tokenizer.encode("The cat sat.")], [BOS_ID, 300]]);
  const capture: HookPoint[] = [
    { site: "resid_pre", layer: 1 },
    { site: "attn_out", layer: 1 },
    { site: "mlp_out", layer: 1 },
    { site: "resid_post", layer: 1 },
    { site: "resid_pre", layer: 2 },
  ];
  const names = capture.map(hookKey);
  const { logits, captured } = model.forward(batch, { capture, logits: false });
  assert.equal(logits, undefined);
  const [pre, attn, mlp, post, next] = await Promise.all(names.map((n) => captured[n].data()));
  assert.deepEqual(captured["resid_pre.1"].shape, [batch.batch * batch.length, 64]); // [B*T, D]
  assert.deepEqual(post, next);
  const err = Math.max(...post.map((p, i) => Math.abs(p - (pre[i] + attn[i] + mlp[i]))));
  assert.ok(err < 1e-5, `max error ${err}`);
  tf.dispose(Object.values(captured));
});

Deno.test("an identity replacement leaves the logits bit for bit unchanged", async () => {
  const batch = packSequences([[BOS_ID, ...tokenizer.encode("Tom ran home.")]]);
  const clean = model.forward(batch).logits!;
  for (const site of ["resid_pre", "attn_out", "mlp_out", "resid_post"] as const) {
    const replaced = model.forward(batch, { replace: [{ site, layer: 2, fn: (a) => a.clone() }] })
      .logits!;
    assert.deepEqual(await replaced.data(), await clean.data(), site);
    const zeroed = model.forward(batch, {
      replace: [{ site, layer: 2, fn: (a) => tf.zerosLike(a) }],
    })
      .logits!;
    assert.notDeepEqual(await zeroed.data(), await clean.data(), site);
    tf.dispose([replaced, zeroed]);
  }
  clean.dispose();
});

Deno.test("right padding does not change the logits of real positions", async () => {
  const short = [BOS_ID, ...tokenizer.encode("A dog.")];
  const alone = model.forward(packSequences([short])).logits!;
  const padded = model.forward(packSequences([short], { length: short.length + 5 })).logits!;
  const kept = tf.slice(padded, [0, 0, 0], [1, short.length, -1]);
  const err = tf.max(tf.abs(tf.sub(alone, kept)));
  assert.ok((await err.data())[0] < 1e-5);
  tf.dispose([alone, padded, kept, err]);
});

Deno.test("forward() leaks no tensors and rejects bad hook layers and long sequences", () => {
  const before = tf.memory().numTensors;
  const batch = packSequences([[BOS_ID, 300, 301], [BOS_ID, 302]]);
  const { logits, captured } = model.forward(batch, {
    capture: [{ site: "mlp_out", layer: 3 }],
    replace: [{ site: "resid_pre", layer: 1, fn: (a) => tf.mul(a, 0.5) }],
  });
  tf.dispose([logits!, ...Object.values(captured)]);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => model.forward(batch, { capture: [{ site: "mlp_out", layer: 5 }] }), /0\.\.4/);
  assert.throws(() => model.forward(packSequences([new Array(513).fill(1)])), /seq_len 512/);
  assert.equal(tf.memory().numTensors, before);
});

// A direct transcription of llama2.c run.c's forward(), one token at a time in float64, returning
// the logits [T, V] and every site's activations [T, D] for layers 0 and 4.
function referenceForward(ck: LlamaCheckpoint, tokens: number[]) {
  const { dim: D, hiddenDim: H, nLayers, nHeads, nKvHeads, vocabSize: V } = ck.config;
  const w = ck.weights;
  const hs = D / nHeads, K = (D * nKvHeads) / nHeads, T = tokens.length;
  const matvec = (m: Float32Array, off: number, x: ArrayLike<number>, out: number, inp: number) =>
    Array.from({ length: out }, (_, o) => {
      let s = 0;
      for (let i = 0; i < inp; i++) s += m[off + o * inp + i] * x[i];
      return s;
    });
  const rms = (x: number[], g: Float32Array, off: number) => {
    const ss = 1 / Math.sqrt(x.reduce((a, v) => a + v * v, 0) / D + 1e-5);
    return x.map((v, i) => v * ss * g[off + i]);
  };
  const sites: Record<string, Float64Array> = {};
  const record = (name: string, l: number, t: number, x: number[]) => {
    const key = `${name}.${l}`;
    sites[key] ??= new Float64Array(T * D);
    sites[key].set(x, t * D);
  };
  const keys = Array.from({ length: nLayers }, () => [] as number[][]);
  const values = Array.from({ length: nLayers }, () => [] as number[][]);
  const logits = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    let x = Array.from(w.tokenEmbedding.subarray(tokens[t] * D, (tokens[t] + 1) * D));
    for (let l = 0; l < nLayers; l++) {
      record("resid_pre", l, t, x);
      const xb = rms(x, w.rmsAtt, l * D);
      const q = matvec(w.wq, l * D * D, xb, D, D);
      const k = matvec(w.wk, l * K * D, xb, K, D);
      const v = matvec(w.wv, l * K * D, xb, K, D);
      for (let i = 0; i < D; i += 2) {
        const angle = t / Math.pow(10000, (i % hs) / hs);
        for (const vec of i < K ? [q, k] : [q]) {
          const [a, b] = [vec[i], vec[i + 1]];
          vec[i] = a * Math.cos(angle) - b * Math.sin(angle);
          vec[i + 1] = a * Math.sin(angle) + b * Math.cos(angle);
        }
      }
      keys[l].push(k);
      values[l].push(v);
      const att = new Array(D).fill(0);
      for (let h = 0; h < nHeads; h++) {
        const g = Math.floor(h / (nHeads / nKvHeads));
        const scores = keys[l].map((kk) => {
          let s = 0;
          for (let i = 0; i < hs; i++) s += q[h * hs + i] * kk[g * hs + i];
          return s / Math.sqrt(hs);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        e.forEach((p, s) => {
          for (let i = 0; i < hs; i++) att[h * hs + i] += (p / z) * values[l][s][g * hs + i];
        });
      }
      const attnOut = matvec(w.wo, l * D * D, att, D, D);
      record("attn_out", l, t, attnOut);
      x = x.map((v, i) => v + attnOut[i]);
      const xf = rms(x, w.rmsFfn, l * D);
      const h1 = matvec(w.w1, l * H * D, xf, H, D);
      const h3 = matvec(w.w3, l * H * D, xf, H, D);
      const hb = h1.map((a, i) => (a / (1 + Math.exp(-a))) * h3[i]);
      const mlpOut = matvec(w.w2, l * D * H, hb, D, H);
      record("mlp_out", l, t, mlpOut);
      x = x.map((v, i) => v + mlpOut[i]);
      record("resid_post", l, t, x);
    }
    logits.set(matvec(w.classifier, 0, rms(x, w.rmsFinal, 0), V, D), t * V);
  }
  return { logits, sites };
}
