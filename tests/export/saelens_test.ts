// Tests lib/export/saelens.ts against SAELens's conventions from both sides:
// - reading: directories written by an independent implementation (numpy + struct/json, following
//   SAELens 6's formulas and layout: fixtures/saelens/make_saelens_fixtures.py) load and encode to
//   the latents numpy computed, including SAELens's default apply_b_dec_to_input = true;
// - writing: every architecture's export, read by a test-local SAELens reference (its own
//   safetensors parser and SAELens's encode formulas in float64, not lib/ code), has SAELens's
//   tensor layout (W_enc [d_in, d_sae], W_dec [d_sae, d_in]) and encodes raw activations exactly
//   as the trained SAE encodes normalised ones (latents scaled by the normalisation scalar C).
import assert from "node:assert/strict";
import { join } from "node:path";
import { architectures, getArchitecture } from "../../lib/sae/registry.ts";
import { TfjsEngine } from "../../lib/engine/reference/tfjs_engine.ts";
import { loadSaeDirectory, writeSaeDirectory } from "../../lib/export/saelens.ts";
import { Rng } from "../../lib/data/rng.ts";
import { closeness, gaussian, saeSpec, useBackend } from "../_tf.ts";

const D = 8, F = 24, B = 64, C = 2.5;
const FIXTURES = new URL("./fixtures/saelens/", import.meta.url).pathname;

/** A safetensors file of F32 tensors, parsed here from the format's specification. */
function parseSafetensors(bytes: Uint8Array): Record<string, { shape: number[]; data: number[] }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const out: Record<string, { shape: number[]; data: number[] }> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: [a, b] } = info as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    assert.equal(dtype, "F32", name);
    const data = Array.from(
      { length: (b - a) / 4 },
      (_, i) => view.getFloat32(8 + n + a + 4 * i, true),
    );
    out[name] = { shape, data };
  }
  return out;
}

/**
 * SAELens 6's inference encode (sae_lens/saes/{standard,jumprelu,topk,gated}_sae.py) in float64:
 * sae_in = x - b_dec * apply_b_dec_to_input (default true), then the architecture's activation.
 */
function saeLensEncode(
  cfg: Record<string, unknown>,
  t: Record<string, { shape: number[]; data: number[] }>,
  x: ArrayLike<number>,
  n: number,
): number[] {
  const d = cfg.d_in as number, f = cfg.d_sae as number;
  const applyBDec = (cfg.apply_b_dec_to_input ?? true) as boolean;
  const mm = (xin: number[], w: (i: number, j: number) => number, bias: number[]) =>
    Array.from({ length: n * f }, (_, k) => {
      const [r, j] = [Math.floor(k / f), k % f];
      let v = bias[j];
      for (let i = 0; i < d; i++) v += xin[r * d + i] * w(i, j);
      return v;
    });
  const xin = Array.from(x, (v, k) => v - (applyBDec ? t.b_dec.data[k % d] : 0));
  const wEnc = (i: number, j: number) => t.W_enc.data[i * f + j];
  if (cfg.architecture === "gated") {
    const gate = mm(xin, wEnc, t.b_gate.data);
    const mag = mm(xin, (i, j) => wEnc(i, j) * Math.exp(t.r_mag.data[j]), t.b_mag.data);
    return gate.map((g, k) => (g > 0 ? Math.max(mag[k], 0) : 0));
  }
  const pre = mm(xin, wEnc, t.b_enc.data);
  if (cfg.architecture === "standard") return pre.map((v) => Math.max(v, 0));
  if (cfg.architecture === "jumprelu") {
    return pre.map((v, k) => (v > t.threshold.data[k % f] ? Math.max(v, 0) : 0));
  }
  assert.equal(cfg.architecture, "topk");
  const out = new Array(n * f).fill(0);
  for (let r = 0; r < n; r++) {
    const row = pre.slice(r * f, (r + 1) * f);
    const top = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, cfg.k as number);
    for (const j of top) out[r * f + j] = Math.max(row[j], 0);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
}

for (const name of architectures().map((a) => a.name)) {
  Deno.test(`${name}: export then reload gives the same encodings and reconstructions in raw units`, async () => {
    await useBackend("cpu");
    const sae = saeSpec({
      architecture: name,
      width: F,
      target_l0: 4,
      jumprelu: { init_threshold: 0.05 },
    });
    const arch = getArchitecture(sae.architecture);
    const engine = new TfjsEngine(arch, arch.init({ d: D, f: F }, { sae, rng: new Rng(2) }), {
      sae,
      adamEps: 1e-8,
      gradClip: null,
    });
    // Train a little so biases, b_dec and thresholds are non-trivial.
    for (let i = 0; i < 30; i++) {
      engine.step(gaussian(B * D, { seed: 100 + i, mean: 0.3 }), { lr: 1e-2, lambda: 0.01 });
    }
    const raw = gaussian(B * D, { seed: 7, std: C, mean: 0.5 });
    const normalised = raw.map((v) => v / C);
    const ref = await engine.encode(normalised, B);
    const snap = await engine.snapshot();
    const dir = join(await Deno.makeTempDir(), "sae");
    const exported = arch.exportTensors(snap.params, snap.state, { sae, scale: C });
    await writeSaeDirectory(dir, {
      tensors: exported.tensors,
      cfg: { ...exported.cfg, d_in: D, d_sae: F, dtype: "float32", normalize_activations: "none" },
    });
    // SAELens's layout, read without lib/ code, and SAELens's encode of the raw activations.
    const cfg = JSON.parse(await Deno.readTextFile(join(dir, "cfg.json")));
    const t = parseSafetensors(await Deno.readFile(join(dir, "sae_weights.safetensors")));
    assert.ok(
      ["standard", "jumprelu", "topk", "gated"].includes(cfg.architecture),
      cfg.architecture,
    );
    assert.equal(
      typeof cfg.apply_b_dec_to_input,
      "boolean",
      "apply_b_dec_to_input must be explicit",
    );
    assert.deepEqual(t.W_enc.shape, [D, F]);
    assert.deepEqual(t.W_dec.shape, [F, D]);
    assert.deepEqual(t.b_dec.shape, [D]);
    for (const name of ["b_enc", "threshold", "b_gate", "b_mag", "r_mag"]) {
      if (t[name]) assert.deepEqual(t[name].shape, [F], name);
    }
    const byHand = saeLensEncode(cfg, t, raw, B);
    const want = ref.f.map((v) => v * C);
    const scaleOf = Math.max(...want.map(Math.abs));
    // A latent at its threshold may flip between float32 and float64: allow one in the batch.
    const off = byHand.filter((v, i) => Math.abs(v - want[i]) > 1e-4 * scaleOf).length;
    assert.ok(off <= 1, `${off} latents differ from SAELens's encode of the export`);
    const loaded = await loadSaeDirectory(dir);
    const f = await loaded.encode(raw, B);
    const xHat = await loaded.decode(f, B);
    const tol = { atol: 1e-4, rtol: 1e-4 };
    assert.ok(ref.f.some((v) => v > 0), "some latents must fire");
    assert.ok(closeness(f, ref.f.map((v) => v * C), tol) <= 1, "latents differ");
    assert.ok(closeness(xHat, ref.xHat.map((v) => v * C), tol) <= 1, "reconstructions differ");
    engine.dispose();
  });
}

Deno.test("loadSaeDirectory() explains a missing or unsupported directory", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(loadSaeDirectory(dir), /cannot read .*cfg\.json/);
  await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify({ architecture: "matryoshka" }));
  await assert.rejects(loadSaeDirectory(dir), /unsupported SAE architecture "matryoshka"/);
});

for (const name of ["standard", "jumprelu", "topk", "gated"]) {
  Deno.test(`loadSaeDirectory() reads a ${name} SAE written by numpy in SAELens's layout and encodes as SAELens`, async () => {
    await useBackend("cpu"); // tf backends are process-wide: never rely on another test's choice
    const expected = JSON.parse(await Deno.readTextFile(join(FIXTURES, "expected.json")));
    const x = Float32Array.from(expected.x.flat());
    const n = expected.x.length;
    const want = expected.saes[name];
    const sae = await loadSaeDirectory(join(FIXTURES, name));
    assert.equal(sae.cfg.architecture, name);
    const f = await sae.encode(x, n);
    assert.ok(want.f.flat().some((v: number) => v > 0));
    assert.ok(maxAbsDiff(f, want.f.flat()) <= 1e-5, `${name}: latents differ from numpy's`);
    const xHat = await sae.decode(Float32Array.from(want.f.flat()), n);
    assert.ok(maxAbsDiff(xHat, want.x_hat.flat()) <= 1e-5, `${name}: reconstruction differs`);
  });
}

Deno.test("the numpy fixtures exercise SAELens's apply_b_dec_to_input default and a threshold cut", async () => {
  // Guards the fixture itself: the standard cfg leaves the key out, the jumprelu cfg sets false,
  // and jumprelu has pre-activations between 0 and the threshold that the threshold removes.
  const cfgOf = async (n: string) =>
    JSON.parse(await Deno.readTextFile(join(FIXTURES, n, "cfg.json")));
  assert.equal("apply_b_dec_to_input" in await cfgOf("standard"), false);
  assert.equal((await cfgOf("jumprelu")).apply_b_dec_to_input, false);
  const expected = JSON.parse(await Deno.readTextFile(join(FIXTURES, "expected.json")));
  const cfg = await cfgOf("jumprelu");
  const t = parseSafetensors(
    await Deno.readFile(join(FIXTURES, "jumprelu", "sae_weights.safetensors")),
  );
  const noThreshold = saeLensEncode({ ...cfg, architecture: "standard" }, t, expected.x.flat(), 5);
  assert.ok(maxAbsDiff(noThreshold, expected.saes.jumprelu.f.flat()) > 0.01);
});
