// Test helper for tfjs backend parity: the case of lib/bench/engine_parity.ts (shared by every engine's
// parity test) at a fixed size, and loss terms, gradients and reference-engine steps on the active
// tfjs backend. Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { HostTensors, TensorMap } from "../../../lib/sae/types.ts";
import { TfjsEngine } from "../../../lib/engine/reference/tfjs_engine.ts";
import {
  type EngineRun,
  makeParityCase,
  type ParityCase as BaseCase,
  runEngine,
} from "../../../lib/bench/engine_parity.ts";

export { excess } from "../../../lib/bench/engine_parity.ts";
export type { EngineRun };

/** A case of lib/bench/engine_parity.ts (the one parity case every engine runs) with a label. */
export interface ParityCase extends BaseCase {
  label: string;
}

export const DIMS = { b: 64, d: 16, f: 128 } as const;

/**
 * lib/bench/engine_parity.ts's case at DIMS: the JumpReLU bandwidth and threshold wide enough that many
 * pre-activations fall inside the STE kernel, TopK/BatchTopK with half their latents dead.
 */
export function makeCase(
  label: string,
  archName: string,
  options: { sae?: Record<string, unknown>; steps?: number; gradClip?: number | null } = {},
): ParityCase {
  return { label, ...makeParityCase(archName, { ...options, dims: DIMS }) };
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

/** Snapshot and statistics after each step of a reference engine on the active backend. */
export function engineSteps(c: ParityCase): Promise<EngineRun> {
  return runEngine(
    c,
    (init) => new TfjsEngine(c.arch, init, { sae: c.sae, adamEps: 1e-8, gradClip: c.gradClip }),
  );
}
