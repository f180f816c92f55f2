// The reference compute path: tfjs autodiff (variableGrads) over an architecture's loss, a
// hand-written Adam, decoder-norm handling and on-device statistics. Runs on whatever tfjs backend
// is active (cpu, wasm, webgpu, tensorflow).
// Shapes: B batch, D d_model, F latents.
import * as tf from "@tensorflow/tfjs";
import type { HostTensor, HostTensors, InitResult, SaeConfig } from "../types.ts";
import type { TensorMap } from "../types.ts";
import type { EngineArchitecture as Architecture } from "../architecture.ts";
import type { Engine, EngineSnapshot, StepHyper, StepStats } from "../engine.ts";
import { deadTokensOf, statsFromRow, statsRowLength } from "../step_stats.ts";
import { adamStep } from "../adam_settings.ts";

export interface TfjsEngineOptions {
  sae: SaeConfig;
  adamEps: number;
  /** Global gradient-norm clip, or null. */
  gradClip: number | null;
}

let engineCount = 0;

/** Device variables named `<prefix>/<name>` (tfjs variable names are global and must be unique). */
function toVariables(
  host: HostTensors,
  options: { trainable: boolean; prefix: string },
): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [name, t] of Object.entries(host)) {
    const init = tf.tensor(t.data, t.shape, "float32");
    out[name] = tf.variable(init, options.trainable, `${options.prefix}/${name}`, "float32");
    init.dispose();
  }
  return out;
}

// Reads use `await data()`, never dataSync(): the webgpu backend cannot read synchronously under
// Deno (its readSync draws through an OffscreenCanvas, which Deno lacks).
async function toHost(vars: Record<string, tf.Tensor>): Promise<HostTensors> {
  const entries = Object.entries(vars);
  const data = await Promise.all(entries.map(([, v]) => v.data())); // reads overlap on a GPU
  return Object.fromEntries(
    entries.map(([name, v], i) => [name, { shape: [...v.shape], data: new Float32Array(data[i]) }]),
  );
}

function assignAll(vars: Record<string, tf.Variable>, host: HostTensors): void {
  for (const [name, v] of Object.entries(vars)) {
    const t: HostTensor | undefined = host[name];
    if (!t) throw new Error(`snapshot lacks tensor ${name}`);
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, "float32")));
  }
}

/** Removes from each decoder-row gradient its component along the (unit) row: g - (g . w) w. */
export function projectDecoderGrad(g: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(g, tf.mul(tf.sum(tf.mul(g, w), 1, true), w));
}

/** Scales every row of w [F, D] to unit L2 norm. */
export function normalizeRows(w: tf.Tensor2D): tf.Tensor2D {
  return tf.div(w, tf.maximum(tf.norm(w, "euclidean", 1, true), 1e-12));
}

export class TfjsEngine implements Engine {
  readonly backend: string;
  readonly #arch: Architecture;
  readonly #options: TfjsEngineOptions;
  readonly #params: Record<string, tf.Variable>;
  readonly #state: Record<string, tf.Variable>;
  readonly #m: Record<string, tf.Variable>;
  readonly #v: Record<string, tf.Variable>;
  /** [loss, ...terms, l0, sse, sst, ste] summed since the last read. */
  readonly #stats: tf.Variable;
  #statSteps = 0;
  /** Steps since the last read whose loss reported an STE-window fraction. */
  #steSteps = 0;
  #t = 0;
  readonly #d: number;

  constructor(arch: Architecture, init: InitResult, options: TfjsEngineOptions) {
    this.backend = tf.getBackend();
    this.#arch = arch;
    this.#options = options;
    const id = `saesweep_engine_${engineCount++}`;
    this.#params = toVariables(init.params, { trainable: true, prefix: `${id}/p` });
    this.#state = toVariables(init.state, { trainable: false, prefix: `${id}/s` });
    const zeros = (h: HostTensors) =>
      Object.fromEntries(
        Object.entries(h).map((
          [k, t],
        ) => [k, { shape: t.shape, data: new Float32Array(t.data.length) }]),
      );
    this.#m = toVariables(zeros(init.params), { trainable: false, prefix: `${id}/m` });
    this.#v = toVariables(zeros(init.params), { trainable: false, prefix: `${id}/v` });
    const statsInit = tf.zeros([statsRowLength(arch.termNames(options.sae).length)]);
    this.#stats = tf.variable(statsInit, false);
    statsInit.dispose(); // the variable holds its own reference
    this.#d = init.params[arch.decoderParam].shape[1];
  }

  step(xData: Float32Array, hyper: StepHyper): void {
    const arch = this.#arch;
    const sae = this.#options.sae;
    this.#t += 1;
    const adam = adamStep(arch, { sae, t: this.#t, lr: hyper.lr });
    tf.tidy(() => {
      const b = xData.length / this.#d;
      const x = tf.tensor2d(xData, [b, this.#d]); // [B, D]
      const lambda = tf.scalar(hyper.lambda);
      let f: tf.Tensor2D | undefined;
      let xHat: tf.Tensor2D | undefined;
      let terms: tf.Scalar[] = [];
      let ste: tf.Scalar | undefined;
      const names = Object.keys(this.#params);
      const { value, grads: byVariable } = tf.variableGrads(() => {
        const out = arch.loss(this.#params, this.#state, x, { sae, lambda });
        f = tf.keep(out.f);
        xHat = tf.keep(out.xHat);
        if (out.steWindow) ste = tf.keep(out.steWindow);
        terms = arch.termNames(sae).map((n) => tf.keep(out.terms[n]));
        return out.total;
      }, names.map((n) => this.#params[n]));
      if (!f || !xHat) throw new Error("architecture loss returned no latents");
      const grads: Record<string, tf.Tensor> = {};
      for (const n of names) {
        const g = byVariable[this.#params[n].name];
        // A parameter the loss does not depend on gets a zero gradient.
        grads[n] = g ?? tf.zerosLike(this.#params[n]);
      }

      if (arch.unitNormDecoder) {
        const w = this.#params[arch.decoderParam] as tf.Tensor2D;
        grads[arch.decoderParam] = projectDecoderGrad(grads[arch.decoderParam] as tf.Tensor2D, w);
      }
      if (this.#options.gradClip !== null) {
        // On the device: clipFactor's min(1, clip / (norm + 1e-12)) without a read back.
        const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
        const scale = tf.minimum(1, tf.div(this.#options.gradClip, tf.add(norm, 1e-12)));
        for (const n of names) grads[n] = tf.mul(grads[n], scale);
      }
      const { beta1, beta2, c1, c2 } = adam;
      for (const n of names) {
        const g = grads[n];
        const m = tf.add(tf.mul(this.#m[n], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.#v[n], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.#m[n].assign(m);
        this.#v[n].assign(v);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), this.#options.adamEps));
        this.#params[n].assign(tf.sub(this.#params[n], tf.mul(update, adam.lrOf(n))));
      }
      if (arch.unitNormDecoder) {
        const w = this.#params[arch.decoderParam];
        w.assign(normalizeRows(w as tf.Tensor2D));
      }
      for (const [n, v] of Object.entries(arch.constrain?.(this.#params, sae) ?? {})) {
        this.#params[n].assign(v);
      }
      if (arch.updateState) {
        for (const [n, v] of Object.entries(arch.updateState(this.#state, { x, f, sae }))) {
          this.#state[n].assign(v);
        }
      }
      const l0 = tf.mean(tf.sum(tf.cast(tf.greater(f, 0), "float32"), 1));
      const sse = tf.sum(tf.square(tf.sub(x, xHat)));
      const sst = tf.sum(tf.square(tf.sub(x, tf.mean(x, 0))));
      const row = tf.stack([value, ...terms, l0, sse, sst, ste ?? tf.scalar(0)]);
      this.#stats.assign(tf.add(this.#stats, row));
      if (ste) this.#steSteps += 1;
      tf.dispose([f, xHat, ...terms, ...(ste ? [ste] : [])]);
    });
    this.#statSteps += 1;
  }

  async readStats(): Promise<StepStats> {
    const names = [...Object.keys(this.#params), ...Object.keys(this.#state)];
    const all = { ...this.#params, ...this.#state };
    const sae = this.#options.sae;
    const deadTokens = deadTokensOf(this.#arch, { sae, stateNames: Object.keys(this.#state) });
    const row = tf.tidy(() => {
      const sums = names.map((n) => tf.sum(all[n]));
      // Dead latents counted on the device, read with the rest: [row, ...sums, dead].
      const dead = deadTokens === undefined
        ? []
        : [tf.sum(tf.cast(tf.greaterEqual(this.#state.since_fired, deadTokens), "float32"))];
      return tf.concat([this.#stats, tf.stack([...sums, ...dead])]);
    });
    const values = await row.data();
    row.dispose();
    const k = this.#arch.termNames(sae).length;
    const width = this.#params[this.#arch.decoderParam].shape[0];
    const stats = statsFromRow(values, {
      steps: this.#statSteps,
      termNames: this.#arch.termNames(sae),
      nonFinite: names.filter((_, i) => !Number.isFinite(values[statsRowLength(k) + i])),
      steSteps: this.#steSteps,
      deadFrac: deadTokens === undefined ? undefined : values[values.length - 1] / width,
    });
    tf.tidy(() => this.#stats.assign(tf.zerosLike(this.#stats)));
    this.#statSteps = 0;
    this.#steSteps = 0;
    return stats;
  }

  async encode(xData: Float32Array, n: number): Promise<{ f: Float32Array; xHat: Float32Array }> {
    const [f, xHat] = tf.tidy(() => {
      const x = tf.tensor2d(xData, [n, this.#d]);
      const f = this.#arch.encode(this.#params, this.#state, x, this.#options.sae);
      return [f, this.#arch.decode(this.#params, f)];
    });
    try {
      return { f: await f.data() as Float32Array, xHat: await xHat.data() as Float32Array };
    } finally {
      tf.dispose([f, xHat]);
    }
  }

  async snapshot(): Promise<EngineSnapshot> {
    return {
      params: await toHost(this.#params),
      state: await toHost(this.#state),
      optimizer: { t: this.#t, m: await toHost(this.#m), v: await toHost(this.#v) },
    };
  }

  restore(s: EngineSnapshot): void {
    assignAll(this.#params, s.params);
    assignAll(this.#state, s.state);
    assignAll(this.#m, s.optimizer.m);
    assignAll(this.#v, s.optimizer.v);
    this.#t = s.optimizer.t;
  }

  /** Current parameters as device tensors (for tests and parity checks); do not dispose. */
  parameters(): Readonly<TensorMap> {
    return this.#params;
  }

  dispose(): void {
    tf.dispose([
      ...Object.values(this.#params),
      ...Object.values(this.#state),
      ...Object.values(this.#m),
      ...Object.values(this.#v),
      this.#stats,
    ]);
  }
}
