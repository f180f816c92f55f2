// Test helper for backend parity: builds a small deterministic case per architecture, computes
// loss terms, gradients and engine steps on the active tfjs backend, and compares host tensors.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../../lib/data/rng.ts";
import { getArchitecture } from "../../../lib/sae/registry.ts";
import type { Architecture, HostTensors, InitResult, TensorMap } from "../../../lib/sae/types.ts";
import { saeSchema, type SaeSpec } from "../../../lib/spec/schema.ts";
import type { EngineSnapshot, StepStats } from "../../../lib/engine/engine.ts";
import { TfjsEngine } from "../../../lib/engine/reference/tfjs_engine.ts";

export { excess } from "../../_tf.ts";

export interface ParityCase {
  label: string;
  arch: Architecture;
  sae: SaeSpec;
  init: InitResult;
  /** Batches [B, D], row-major, one per step. */
  batches: Float32Array[];
  lambda: number;
  lr: number;
  gradClip: number | null;
}

export const DIMS = { b: 64, d: 16, f: 128 } as const;

/**
 * A case whose discontinuities are exercised: the JumpReLU bandwidth and threshold are wide enough
 * that many pre-activations fall inside the STE kernel, and TopK/BatchTopK start with half their
 * latents dead so AuxK contributes.
 */
export function makeCase(
  label: string,
  archName: string,
  options: { sae?: Record<string, unknown>; steps?: number; gradClip?: number | null } = {},
): ParityCase {
  const sae = saeSchema().parse({
    architecture: archName,
    width: DIMS.f,
    target_l0: 8,
    ...options.sae,
    jumprelu: { bandwidth: 0.05, init_threshold: 0.1, ...(options.sae?.jumprelu ?? {}) },
  });
  const arch = getArchitecture(archName);
  const rng = new Rng(7, 0x9a1);
  const init = arch.init({ d: DIMS.d, f: DIMS.f }, { sae, rng });
  // Nonzero biases so every bias path carries a gradient.
  for (const [name, t] of Object.entries(init.params)) {
    if (name.startsWith("b_")) t.data.forEach((_, i) => t.data[i] = 0.05 * rng.normal());
  }
  if (init.state.since_fired) {
    const dead = init.state.since_fired.data;
    for (let i = 0; i < dead.length; i += 2) dead[i] = 1e9;
  }
  const batches = Array.from({ length: options.steps ?? 3 }, () => {
    const x = new Float32Array(DIMS.b * DIMS.d);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal() / Math.sqrt(DIMS.d);
    return x;
  });
  return {
    label,
    arch,
    sae,
    init,
    batches,
    lambda: 0.05,
    lr: 1e-3,
    gradClip: options.gradClip ?? null,
  };
}

export interface LossGrads {
  total: number;
  terms: Record<string, number>;
  f: Float32Array;
  xHat: Float32Array;
  grads: HostTensors;
}

/** Host copies of tensors, read asynchronously (webgpu cannot read synchronously under Deno). */
async function readAll(tensors: Record<string, tf.Tensor>): Promise<HostTensors> {
  const out: HostTensors = {};
  for (const [n, t] of Object.entries(tensors)) {
    out[n] = { shape: [...t.shape], data: new Float32Array(await t.data()) };
  }
  return out;
}

/** Loss terms, latents, reconstruction and gradients of the first batch on the active backend. */
export async function lossAndGrads(c: ParityCase): Promise<LossGrads> {
  const params: Record<string, tf.Variable> = {};
  for (const [n, t] of Object.entries(c.init.params)) {
    params[n] = tf.variable(tf.tensor(t.data, t.shape), true, `parity_${c.label}_${n}_${uid++}`);
  }
  const names = Object.keys(params);
  const kept = tf.tidy(() => {
    const state: TensorMap = {};
    for (const [n, t] of Object.entries(c.init.state)) state[n] = tf.tensor(t.data, t.shape);
    const x = tf.tensor2d(c.batches[0], [DIMS.b, DIMS.d]);
    const out: Record<string, tf.Tensor> = {};
    const { value, grads } = tf.variableGrads(() => {
      const r = c.arch.loss(params, state, x, { sae: c.sae, lambda: tf.scalar(c.lambda) });
      for (const n of c.arch.termNames(c.sae)) out[`term/${n}`] = tf.keep(r.terms[n]);
      out.f = tf.keep(r.f);
      out.xHat = tf.keep(r.xHat);
      return r.total;
    }, names.map((n) => params[n]));
    out.total = value;
    for (const n of names) out[`grad/${n}`] = grads[params[n].name] ?? tf.zerosLike(params[n]);
    return out;
  });
  const host = await readAll(kept);
  tf.dispose([...Object.values(kept), ...Object.values(params)]);
  const pick = (prefix: string) =>
    Object.fromEntries(
      Object.entries(host).filter(([k]) => k.startsWith(prefix)).map((
        [k, v],
      ) => [k.slice(prefix.length), v]),
    );
  return {
    total: host.total.data[0],
    terms: Object.fromEntries(Object.entries(pick("term/")).map(([k, v]) => [k, v.data[0]])),
    f: host.f.data,
    xHat: host.xHat.data,
    grads: pick("grad/"),
  };
}
let uid = 0;

export interface EngineRun {
  snapshots: EngineSnapshot[];
  stats: StepStats[];
}

/** Snapshot and statistics after each step of a reference engine on the active backend. */
export async function engineSteps(c: ParityCase): Promise<EngineRun> {
  const engine = new TfjsEngine(c.arch, c.init, {
    sae: c.sae,
    adamEps: 1e-8,
    gradClip: c.gradClip,
  });
  const run: EngineRun = { snapshots: [], stats: [] };
  try {
    for (const x of c.batches) {
      engine.step(x, { lr: c.lr, lambda: c.lambda });
      run.stats.push(await engine.readStats());
      run.snapshots.push(await engine.snapshot());
    }
  } finally {
    engine.dispose();
  }
  return run;
}
