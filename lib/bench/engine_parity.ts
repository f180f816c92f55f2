// Engine parity: a small deterministic training case per architecture, several Adam steps of two
// engines on it, and the worst difference of parameters, state, Adam moments and statistics
// against tolerances. Shared by the engine tests and `deno task gpu-probe --parity` (which runs
// on a GPU machine from the bundle, where tests/ is absent). Compares; never asserts or prints.
// Shapes: B batch, D d_model, F latents.
import { Rng } from "../data/rng.ts";
import {
  architectures,
  FEATURED_ARCHITECTURE,
  getArchitecture,
  REFERENCE_BASELINE,
} from "../sae/registry.ts";
import type { Architecture, HostTensors, InitResult } from "../sae/types.ts";
import { saeSchema, type SaeSpec } from "../spec/schema.ts";
import type { Engine, EngineSnapshot, StepStats } from "../engine/engine.ts";
import { calibrationSample } from "../train/calibrate_l0.ts";
import { JS_BLAS } from "../engine/cpu/js_gemm.ts";
import { FastEngine } from "../engine/cpu/fast_engine.ts";

export interface ParityCase {
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

/** An architecture and the options one parity check trains it with. */
export interface ParityVariant {
  label: string;
  arch: string;
  sae?: Record<string, unknown>;
  gradClip?: number;
}

/** After Adam (lr 1e-3) steps: |delta| <= 1e-6 + 1e-5 max|reference| (float32 drift). */
export const PARAM_TOL = { rtol: 1e-5, atol: 1e-6 };
/** Adam's second moments (squares of gradients, so twice the relative drift and more). */
export const ADAM_V_TOL = { rtol: 1e-4, atol: 1e-12 };
/** Statistics are float32 sums on a GPU, float64 on the host: |delta| <= 1e-5 max(1, |want|). */
export const STAT_RTOL = 1e-5;

export function cloneInit(init: InitResult): InitResult {
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
export function makeParityCase(
  archName: string,
  options: {
    sae?: Record<string, unknown>;
    steps?: number;
    gradClip?: number | null;
    dims?: { b: number; d: number; f: number };
  } = {},
): ParityCase {
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
    calibrationSample(init, { x: batches[0], b: dims.b, targetL0: sae.target_l0, blas: JS_BLAS }),
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

export interface EngineRun {
  snapshots: EngineSnapshot[];
  stats: StepStats[];
}

/** Snapshot and statistics after each step of an engine built from a fresh copy of the case. */
export async function runEngine(
  c: ParityCase,
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

/**
 * max|a - b| and its ratio to the tolerance atol + rtol * max|b| (ratio <= 1 passes; NaN never
 * passes), with the index of the worst element.
 */
export function excess(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  tol: { rtol: number; atol: number },
): { ratio: number; maxAbs: number; at: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let maxAbs = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - b[i]);
    if (!(diff <= maxAbs)) {
      maxAbs = diff;
      at = i;
    }
  }
  return { ratio: maxAbs / (tol.atol + tol.rtol * scale), maxAbs, at };
}

export interface ParityReport {
  /** Largest |difference| / tolerance over every compared value (<= 1 passes). */
  worst: number;
  /** What the worst ratio was measured on, e.g. `step 2 params W_enc`. */
  worstAt: string;
  /** One line per value out of tolerance (or structurally different); empty when all pass. */
  failures: string[];
}

/**
 * Compares `have` (the engine under test) with `want` (the reference engine) step by step:
 * parameters and state (PARAM_TOL), Adam second moments (ADAM_V_TOL) and step count, loss, terms,
 * L0, FVU and STE window (STAT_RTOL), dead fraction and health exactly.
 */
export function compareRuns(have: EngineRun, want: EngineRun): ParityReport {
  const report: ParityReport = { worst: 0, worstAt: "", failures: [] };
  const note = (ratio: number, what: string, detail: string) => {
    if (!(ratio <= report.worst)) {
      report.worst = Number.isNaN(ratio) ? Infinity : ratio;
      report.worstAt = what;
    }
    if (!(ratio <= 1)) report.failures.push(`${what}: ${detail}`);
  };
  const stat = (h: number, w: number, what: string) => {
    const tol = STAT_RTOL * Math.max(1, Math.abs(w));
    note(Math.abs(h - w) / tol, what, `have ${h}, want ${w}`);
  };
  for (let step = 0; step < want.snapshots.length; step++) {
    const at = `step ${step + 1}`;
    const [a, b] = [have.snapshots[step], want.snapshots[step]];
    for (const group of ["params", "state"] as const) {
      for (const [n, t] of Object.entries(b[group])) {
        const e = excess(a[group][n].data, t.data, PARAM_TOL);
        note(e.ratio, `${at} ${group} ${n}`, `max |diff| ${e.maxAbs} at ${e.at}`);
      }
    }
    for (const [n, t] of Object.entries(b.optimizer.v)) {
      const e = excess(a.optimizer.v[n].data, t.data, ADAM_V_TOL);
      note(e.ratio, `${at} Adam v ${n}`, `max |diff| ${e.maxAbs} at ${e.at}`);
    }
    if (a.optimizer.t !== b.optimizer.t) {
      note(Infinity, `${at} Adam t`, `have ${a.optimizer.t}, want ${b.optimizer.t}`);
    }
    const [sa, sb] = [have.stats[step], want.stats[step]];
    stat(sa.loss, sb.loss, `${at} loss`);
    for (const [n, x] of Object.entries(sb.terms)) stat(sa.terms[n], x, `${at} ${n}`);
    stat(sa.l0, sb.l0, `${at} l0`);
    stat(sa.fvu, sb.fvu, `${at} fvu`);
    if ((sa.steWindow === undefined) !== (sb.steWindow === undefined)) {
      note(Infinity, `${at} ste window`, `have ${sa.steWindow}, want ${sb.steWindow}`);
    } else if (sb.steWindow !== undefined) stat(sa.steWindow!, sb.steWindow, `${at} ste window`);
    if (sa.deadFrac !== sb.deadFrac) {
      note(Infinity, `${at} dead frac`, `have ${sa.deadFrac}, want ${sb.deadFrac}`);
    }
    if (sa.nonFinite.length) {
      note(Infinity, `${at} non-finite`, sa.nonFinite.join(", "));
    }
  }
  return report;
}

/**
 * One training step on the case's first batch, then the engine's inference latents and
 * reconstructions of a full batch plus `extra` rows (a partial last chunk); disposes the engine.
 */
export async function encodeAfterStep(
  c: ParityCase,
  engine: Engine,
  extra: number,
): Promise<{ f: Float32Array; xHat: Float32Array }> {
  const { b, d } = c.dims;
  const x = new Float32Array((b + extra) * d);
  x.set(c.batches[1]);
  x.set(c.batches[2].subarray(0, extra * d), b * d);
  try {
    engine.step(c.batches[0], { lr: c.lr, lambda: c.lambda });
    await engine.readStats();
    return await engine.encode(x, b + extra);
  } finally {
    engine.dispose();
  }
}

/** How far two engines' encodings differ, for f and xHat, against the parameter tolerance. */
export function compareEncodings(
  have: { f: Float32Array; xHat: Float32Array },
  want: { f: Float32Array; xHat: Float32Array },
): { k: "f" | "xHat"; ratio: number; maxAbs: number }[] {
  return (["f", "xHat"] as const).map((k) => {
    const e = excess(have[k], want[k], PARAM_TOL);
    return { k, ratio: e.ratio, maxAbs: e.maxAbs };
  });
}

/**
 * What the webgpu engine is checked on: every architecture with a webgpu kernel at its defaults and
 * at each of its parityCases, the quickstart's JumpReLU recipe, and gradient clipping.
 */
export function webgpuParityVariants(): ParityVariant[] {
  return [
    ...architectures().filter((a) => a.kernels?.webgpu).flatMap((a): ParityVariant[] => [
      { label: a.name, arch: a.name },
      ...(a.parityCases ?? []).map((p) => ({
        label: `${a.name} ${p.label}`,
        arch: a.name,
        sae: p.sae,
      })),
    ]),
    {
      label: `${FEATURED_ARCHITECTURE} ls_qfreq_auxk recipe (quickstart)`,
      arch: FEATURED_ARCHITECTURE,
      sae: {
        [FEATURED_ARCHITECTURE]: {
          threshold_param: "linear",
          threshold_init: "quantile",
          encoder_scale_init: "least_squares",
          bandwidth_unit: "pre_act_std",
          bandwidth: 1,
          penalty: "quadratic_frequency",
          frequency_scale: 0.01,
          pre_act_alpha: 0.5,
          aux_alpha: 1,
          dead_tokens: 100,
        },
      },
    },
    {
      label: `${FEATURED_ARCHITECTURE} with grad clip`,
      arch: FEATURED_ARCHITECTURE,
      gradClip: 0.5,
    },
    { label: `${REFERENCE_BASELINE} with grad clip`, arch: REFERENCE_BASELINE, gradClip: 0.3 },
  ];
}

/**
 * The CPU engine on the portable TypeScript GEMM and sparse loops: no FFI, no WebAssembly file,
 * so it runs wherever the code runs (the GPU bundle included); exact enough for small cases.
 */
export function portableCpuEngine(c: ParityCase, init: InitResult): Engine {
  const kernel = c.arch.kernels?.cpu;
  if (!kernel) throw new Error(`architecture ${c.arch.name} has no cpu kernel`);
  return new FastEngine(c.arch, init, {
    sae: c.sae,
    kernel,
    adamEps: 1e-8,
    gradClip: c.gradClip,
    blas: JS_BLAS,
    backend: "cpu-js",
  });
}
