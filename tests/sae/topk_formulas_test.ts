// The TopK/BatchTopK training statistics of both engines (the tfjs reference and the fast CPU
// engine) against formulas evaluated by hand in float64: the AuxK term of Gao et al. 2024 (the top
// k_aux ReLU pre-activations among dead latents reconstruct the frozen residual, normalised by
// the residual's centred spread) and the training FVU (squared error over the batch's centred
// variance). The engines' parity with each other is in tests/engine/cpu/; this file catches a mistake
// they share. Shapes: B batch, D d_model, F latents.
import assert from "node:assert/strict";
import { FastEngine } from "../../lib/engine/cpu/fast_engine.ts";
import { JS_BLAS } from "../../lib/engine/cpu/js_gemm.ts";
import type { HostTensors } from "../../lib/sae/types.ts";
import { type FastCase, makeCase, referenceEngine, runEngine } from "../engine/cpu/_case.ts";
import { useBackend } from "../_tf.ts";

const DIMS = { b: 12, d: 6, f: 16 };

interface ByHand {
  recon: number;
  aux: number;
  fvu: number;
}

/** The first step's recon, aux and FVU of `c` computed from its formulas in float64. */
function byHand(c: FastCase, options: { batch: boolean }): ByHand {
  const { b: B, d: D, f: F } = c.dims;
  const p: HostTensors = c.init.params;
  const x = c.batches[0];
  const k = c.sae.target_l0;
  const aux = (options.batch ? c.sae.batchtopk : c.sae.topk) as {
    aux_k: number | null;
    aux_alpha: number;
    dead_tokens: number;
  };
  const kAux = aux.aux_k ?? Math.min(512, Math.floor(D / 2));
  const dead = Array.from(c.init.state.since_fired.data, (t) => t >= aux.dead_tokens);
  // r = ReLU((x - b_dec) W_enc + b_enc)
  const r = new Float64Array(B * F);
  for (let row = 0; row < B; row++) {
    for (let j = 0; j < F; j++) {
      let v = p.b_enc.data[j];
      for (let i = 0; i < D; i++) {
        v += (x[row * D + i] - p.b_dec.data[i]) * p.W_enc.data[i * F + j];
      }
      r[row * F + j] = Math.max(v, 0);
    }
  }
  // TopK keeps the k largest per row; BatchTopK the k * B largest of the whole batch.
  const keep = new Uint8Array(B * F);
  if (options.batch) {
    const order = [...r.keys()].sort((a, b) => r[b] - r[a]).slice(0, k * B);
    for (const i of order) if (r[i] > 0) keep[i] = 1;
  } else {
    for (let row = 0; row < B; row++) {
      const order = [...Array(F).keys()].sort((a, b) => r[row * F + b] - r[row * F + a]);
      for (const j of order.slice(0, k)) if (r[row * F + j] > 0) keep[row * F + j] = 1;
    }
  }
  const decode = (acts: (row: number, j: number) => number, bias: boolean) =>
    Array.from({ length: B * D }, (_, idx) => {
      const [row, i] = [Math.floor(idx / D), idx % D];
      let v = bias ? p.b_dec.data[i] : 0;
      for (let j = 0; j < F; j++) v += acts(row, j) * p.W_dec.data[j * D + i];
      return v;
    });
  const xHat = decode((row, j) => (keep[row * F + j] ? r[row * F + j] : 0), true);
  const colMean = (v: ArrayLike<number>) =>
    Array.from({ length: D }, (_, i) => {
      let s = 0;
      for (let row = 0; row < B; row++) s += v[row * D + i];
      return s / B;
    });
  const centred = (v: ArrayLike<number>) => {
    const m = colMean(v);
    return Array.from(v, (a, idx) => (a - m[idx % D]) ** 2).reduce((s, a) => s + a, 0);
  };
  const e = Array.from(x, (v, i) => v - xHat[i]);
  const sse = e.reduce((s, a) => s + a * a, 0);
  // AuxK: the top k_aux positive r among dead latents of each row decode (no bias) e_hat.
  const auxActs = new Float64Array(B * F);
  for (let row = 0; row < B; row++) {
    const order = [...Array(F).keys()].filter((j) => dead[j] && r[row * F + j] > 0)
      .sort((a, b) => r[row * F + b] - r[row * F + a]).slice(0, kAux);
    for (const j of order) auxActs[row * F + j] = r[row * F + j];
  }
  const eHat = decode((row, j) => auxActs[row * F + j], false);
  const err = e.reduce((s, a, i) => s + (a - eHat[i]) ** 2, 0);
  const nDead = dead.filter(Boolean).length;
  return {
    recon: sse / B,
    aux: nDead > 0 ? (aux.aux_alpha * err) / centred(e) : 0,
    fvu: sse / centred(x),
  };
}

/** A case whose batch has a mean far from 0, so centred and uncentred variances differ ~3x. */
function offsetCase(arch: string, sae: Record<string, unknown> = {}): FastCase {
  const c = makeCase(arch, { dims: DIMS, steps: 1, sae: { target_l0: 3, ...sae } });
  c.batches[0] = c.batches[0].map((v, i) => v + 0.6 * ((i % DIMS.d) % 2 === 0 ? 1 : -1));
  return c;
}

const ENGINES = {
  "tfjs reference": (c: FastCase) => (init: FastCase["init"]) => referenceEngine(c, init),
  "fast engine": (c: FastCase) => (init: FastCase["init"]) =>
    new FastEngine(c.arch, init, {
      sae: c.sae,
      kernel: c.arch.kernels?.cpu!,
      adamEps: 1e-8,
      gradClip: null,
      blas: JS_BLAS,
      backend: "test",
      denseAbove: Infinity,
    }),
};

for (const arch of ["topk", "batchtopk"]) {
  for (const [engineName, make] of Object.entries(ENGINES)) {
    for (const [label, auxK] of [["8 dead latents, k_aux 3", null], ["k_aux 12 > 8 dead", 12]]) {
      Deno.test(`${arch} ${engineName} (${label}): recon, AuxK and training FVU match the formulas by hand`, async () => {
        await useBackend("cpu");
        const c = offsetCase(arch, { [arch]: { aux_k: auxK, aux_alpha: 0.25 } });
        const want = byHand(c, { batch: arch === "batchtopk" });
        const dead = Array.from(c.init.state.since_fired.data).filter((t) => t >= 1e5).length;
        assert.equal(dead, 8); // makeCase kills every other latent
        assert.ok(want.aux > 0);
        const { stats } = await runEngine(c, make(c));
        const got = stats[0];
        const close = (g: number, w: number, what: string) =>
          assert.ok(Math.abs(g - w) <= 1e-5 * Math.abs(w), `${what}: ${g} vs ${w} by hand`);
        close(got.terms.recon, want.recon, "recon");
        close(got.terms.aux, want.aux, "aux");
        close(got.fvu, want.fvu, "fvu");
      });
    }
  }
}
