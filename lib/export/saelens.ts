// Writes a trained SAE in SAELens's directory layout (`cfg.json` + `sae_weights.safetensors`, raw
// activation units) and reads such a directory (ours or SAELens-written) back as an inference SAE.
// Shapes: N tokens, D d_in, F d_sae.
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { writeJsonAtomic } from "../store/atomic.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import type { HostTensors } from "../sae/types.ts";
import { DataError } from "../errors.ts";
import { architectures } from "../sae/registry.ts";

export const SAE_FILES = { cfg: "cfg.json", weights: "sae_weights.safetensors" } as const;

export interface SaeLensCfg {
  /** SAELens's architecture name; the registered architecture whose `saelens.loads` it is reads it. */
  architecture: string;
  d_in: number;
  d_sae: number;
  dtype: string;
  apply_b_dec_to_input: boolean;
  normalize_activations: string;
  k?: number;
  [key: string]: unknown;
}

/** Writes `dir/cfg.json` and `dir/sae_weights.safetensors` (float32). */
export async function writeSaeDirectory(
  dir: string,
  sae: { tensors: HostTensors; cfg: Record<string, unknown> },
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tensors = Object.fromEntries(
    Object.entries(sae.tensors).map((
      [k, t],
    ) => [k, { dtype: "F32" as const, shape: t.shape, data: t.data }]),
  );
  await writeSafetensors(join(dir, SAE_FILES.weights), tensors);
  await writeJsonAtomic(join(dir, SAE_FILES.cfg), sae.cfg);
}

/** An SAE loaded for inference in raw activation units. */
export interface LoadedSae {
  cfg: SaeLensCfg;
  tensors: HostTensors;
  /** Latents [n, F] of raw activations x [n, D] (async: GPU backends read back asynchronously). */
  encode(x: Float32Array, n: number): Promise<Float32Array>;
  /** Reconstruction [n, D] of latents [n, F]. */
  decode(f: Float32Array, n: number): Promise<Float32Array>;
}

export async function loadSaeDirectory(dir: string): Promise<LoadedSae> {
  let cfg: SaeLensCfg;
  try {
    cfg = JSON.parse(await Deno.readTextFile(join(dir, SAE_FILES.cfg)));
  } catch (e) {
    throw new DataError(`cannot read ${join(dir, SAE_FILES.cfg)}: ${e}`, {
      hint: "point at a directory holding cfg.json and sae_weights.safetensors",
    });
  }
  const readers = architectures().flatMap((a) => a.saelens ? [a.saelens] : []);
  const reader = readers.find((r) => r.loads === cfg.architecture);
  if (!reader) {
    throw new DataError(`unsupported SAE architecture "${cfg.architecture}" in ${dir}`, {
      hint: `supported: ${readers.map((r) => r.loads).join(", ")}`,
    });
  }
  const { required, encode: encodeLatents } = reader;
  const raw = await readSafetensors(join(dir, SAE_FILES.weights));
  const tensors: HostTensors = {};
  for (const [k, t] of Object.entries(raw)) tensors[k] = { shape: t.shape, data: t.data };
  const missing = required.filter((k) => !tensors[k]);
  if (missing.length) {
    throw new DataError(`${dir}: weights lack ${missing.join(", ")} for a ${cfg.architecture} SAE`);
  }
  const applyBDec = cfg.apply_b_dec_to_input ?? true;
  const d = cfg.d_in;
  const f = cfg.d_sae;
  const t = (name: string) => tf.tensor(tensors[name].data, tensors[name].shape, "float32");

  /** Reads a tensor back to the host and disposes it (never dataSync: webgpu cannot). */
  async function read(t: tf.Tensor): Promise<Float32Array> {
    try {
      return new Float32Array(await t.data());
    } finally {
      t.dispose();
    }
  }

  function encode(xData: Float32Array, n: number): Promise<Float32Array> {
    return read(tf.tidy(() => {
      const x = tf.tensor2d(xData, [n, d]); // [N, D]
      const xIn = applyBDec ? tf.sub(x, t("b_dec")) : x;
      return encodeLatents(t, xIn, cfg);
    }));
  }

  function decode(fData: Float32Array, n: number): Promise<Float32Array> {
    return read(
      tf.tidy(() =>
        tf.add(tf.matMul(tf.tensor2d(fData, [n, f]), t("W_dec") as tf.Tensor2D), t("b_dec"))
      ),
    );
  }

  return { cfg, tensors, encode, decode };
}
