// Test helper for fast-engine parity: a small deterministic case per architecture, the reference
// loss terms and gradients (tfjs autodiff on the active backend), and engine runs to compare.
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../../../lib/data/rng.ts";
import { getArchitecture } from "../../../lib/sae/registry.ts";
import type { Architecture, HostTensors, InitResult, TensorMap } from "../../../lib/sae/types.ts";
import { saeSchema, type SaeSpec } from "../../../lib/spec/schema.ts";
import type { Engine, EngineSnapshot, StepStats } from "../../../lib/engine/engine.ts";
import { TfjsEngine } from "../../../lib/engine/reference/tfjs_engine.ts";
import { calibrationSample } from "../../../lib/train/calibrate_l0.ts";
import { JS_BLAS } from "../../../lib/engine/cpu/js_gemm.ts";

export { excess } from "../../_tf.ts";

export interface FastCase {
  arch: Architecture;
  sae: SaeSpec;
  init: InitResult;
  dims: { b: number; d: number; f: number };
  /** Batches [B, D], one per step. */
  batches: Float32Array[];
  lambda: number;
  lr: number;
  gradClip: number | null;
}

function cloneInit(init: InitResult): InitResult {
  const copy = (h: HostTensors) =>
    Object.fromEntries(
      Object.entries(h).map((
        [k, t],
      ) => [k, { shape: [...t.shape], data: new Float32Array(t.data) }]),
    );
  return { params: copy(init.params), state: copy(init.state) };
}

/**
 * A case that exercises every gradient path: nonzero biases, a JumpReLU bandwidth wide enough that
 * many pre-activations fall inside the STE kernel, half the TopK/BatchTopK latents dead (AuxK on).
 */
export function makeCase(
  archName: string,
  options: {
    sae?: Record<string, unknown>;
    steps?: number;
    gradClip?: number | null;
    dims?: { b: number; d: number; f: number };
  } = {},
): FastCase {
  const dims = options.dims ?? { b: 48, d: 16, f: 96 };
  const jr = (options.sae?.jumprelu ?? {}) as Record<string, unknown>;
  const sae = saeSchema().parse({
    architecture: archName,
    width: dims.f,
    target_l0: 6,
    ...options.sae,
    jumprelu: { bandwidth: 0.05, init_threshold: 0.1, ...jr },
  });
  const arch = getArchitecture(archName);
  const rng = new Rng(11, 0xfa57);
  const init = arch.init({ d: dims.d, f: dims.f }, { sae, rng });
  for (const [name, t] of Object.entries(init.params)) {
    if (name.startsWith("b_")) t.data.forEach((_, i) => t.data[i] = 0.05 * rng.normal());
    if (name === "r_mag") t.data.forEach((_, i) => t.data[i] = 0.1 * rng.normal());
  }
  if (init.state.since_fired) {
    const dead = init.state.since_fired.data;
    for (let i = 0; i < dead.length; i += 2) dead[i] = 1e9;
  }
  const batches = Array.from({ length: options.steps ?? 3 }, () => {
    const x = new Float32Array(dims.b * dims.d);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal() / Math.sqrt(dims.d);
    return x;
  });
  // The data-dependent start training makes (quantile thresholds, a bandwidth from the data).
  arch.initFromSample?.(
    init,
    calibrationSample(init, { x: batches[0], b: dims.b, l0: sae.target_l0, blas: JS_BLAS }),
    sae,
  );
  return {
    arch,
    sae,
    init,
    dims,
    batches,
    lambda: 0.05,
    lr: 1e-3,
    gradClip: options.gradClip ?? null,
  };
}

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

export interface EngineRun {
  snapshots: EngineSnapshot[];
  stats: StepStats[];
}

/** Snapshot and statistics after each step of an engine built from a fresh copy of the case. */
export async function runEngine(
  c: FastCase,
  make: (init: InitResult) => Engine | Promise<Engine>,
): Promise<EngineRun> {
  const engine = await make(cloneInit(c.init));
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

/** The tfjs reference engine on the active backend. */
export function referenceEngine(c: FastCase, init: InitResult): Engine {
  return new TfjsEngine(c.arch, init, { sae: c.sae, adamEps: 1e-8, gradClip: c.gradClip });
}
