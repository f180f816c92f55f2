// Test helper for fast-engine parity: the case and engine runs of lib/bench/engine_parity.ts, the
// reference loss terms and gradients (tfjs autodiff on the active backend) and the reference engine.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { HostTensors, InitResult, TensorMap } from "../../../lib/sae/types.ts";
import type { Engine } from "../../../lib/engine/engine.ts";
import { TfjsEngine } from "../../../lib/engine/reference/tfjs_engine.ts";

export { excess } from "../../_tf.ts";
// The case, its engine runs and the comparison live in lib/bench/engine_parity.ts, which the GPU probe's
// --parity check runs too.
export {
  type EngineRun,
  makeParityCase as makeCase,
  type ParityCase as FastCase,
  runEngine,
} from "../../../lib/bench/engine_parity.ts";
import type { ParityCase as FastCase } from "../../../lib/bench/engine_parity.ts";

let uid = 0;

/** Reference loss terms and raw gradients of the first batch (tfjs autodiff on the active backend). */
export function referenceGrads(c: FastCase): { terms: number[]; grads: HostTensors } {
  let result: { terms: number[]; grads: HostTensors } | undefined;
  tf.tidy(() => {
    const params: Record<string, tf.Variable> = {};
    for (const [n, t] of Object.entries(c.init.params)) {
      params[n] = tf.variable(tf.tensor(t.data, t.shape), true, `fastcase_${n}_${uid++}`);
    }
    const state: TensorMap = {};
    for (const [n, t] of Object.entries(c.init.state)) state[n] = tf.tensor(t.data, t.shape);
    const x = tf.tensor2d(c.batches[0], [c.dims.b, c.dims.d]);
    let terms: number[] = [];
    const names = Object.keys(params);
    const { grads } = tf.variableGrads(() => {
      const r = c.arch.loss(params, state, x, { sae: c.sae, lambda: tf.scalar(c.lambda) });
      terms = c.arch.termNames(c.sae).map((n) => r.terms[n].dataSync()[0]);
      return r.total;
    }, names.map((n) => params[n]));
    const out: HostTensors = {};
    for (const n of names) {
      const g = grads[params[n].name] ?? tf.zerosLike(params[n]);
      out[n] = { shape: [...g.shape], data: g.dataSync() as Float32Array };
    }
    tf.dispose(Object.values(params));
    result = { terms, grads: out };
  });
  return result!;
}

/** The tfjs reference engine on the active backend. */
export function referenceEngine(c: FastCase, init: InitResult): Engine {
  return new TfjsEngine(c.arch, init, { sae: c.sae, adamEps: 1e-8, gradClip: c.gradClip });
}
