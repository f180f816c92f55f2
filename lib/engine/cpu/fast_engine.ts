// The fast CPU engine: an Engine on plain Float32Arrays (parameters, Adam moments and state on the
// host), with one dense BLAS GEMM per step for the encoder and sparse products over the active
// latents for everything else. Same maths as the tfjs reference engine (tests/engine/cpu/ check it).
// Shapes: B batch, D d_model, F latents.
import type { HostTensors, InitResult, SaeConfig, TrainingLayout } from "../types.ts";
import type { Engine, EngineSnapshot, StepHyper, StepStats } from "../engine.ts";
import { ActiveList } from "./active.ts";
import { ActiveOps } from "./active_ops.ts";
import { sumSquares } from "./adam.ts";
import { JS_UPDATE, type UpdateOps, wasmUpdate } from "./wasm_update.ts";
import type { Blas } from "./blas.ts";
import type { FastKernel, KernelContext } from "./fast_kernel.ts";
import { Workspace } from "./workspace.ts";
import type { WasmKernels } from "./wasm_kernels.ts";
import { WasmSparse } from "./wasm_sparse.ts";
import { arenaMemory, type HostMemory, JS_MEMORY } from "./host_memory.ts";
import { deadFraction, deadTokensOf, statsFromRow, statsRowLength } from "../step_stats.ts";
import { adamStep, clipFactor } from "../adam_settings.ts";

export interface FastEngineOptions {
  sae: SaeConfig;
  /** The architecture's forward + backward on host buffers. */
  kernel: FastKernel;
  adamEps: number;
  /** Global gradient-norm clip, or null. */
  gradClip: number | null;
  /** Dense GEMM provider (OpenBLAS through FFI, or the portable JS GEMM). */
  blas: Blas;
  /** Name recorded as Engine.backend, e.g. `cpu-openblas`. */
  backend: string;
  /**
   * Active-list density above which sparse products run as dense GEMMs (default 0.005: the scalar
   * sparse loops cost ~1.3 ns per multiply-add against ~190 GFLOP/s for OpenBLAS on 2 cores, so
   * dense breaks even near k / F = 0.8%).
   */
  denseAbove?: number;
  /**
   * The WebAssembly module whose SIMD kernels run the sparse products (on its threads); absent:
   * the TypeScript loops.
   */
  wasm?: WasmKernels;
}

/** Milliseconds of the phases of the last step (for benchmarks). */
export interface StepTimings {
  forward: number;
  backward: number;
  update: number;
  /** The encoder GEMM alone (part of forward), when the kernel measures it. */
  encoder: number | null;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  }
  return out;
}

export class FastEngine implements Engine {
  readonly backend: string;
  readonly #arch: TrainingLayout;
  readonly #kernel: FastKernel;
  readonly #options: FastEngineOptions;
  readonly #shapes: Record<string, number[]>;
  readonly #stateShapes: Record<string, number[]>;
  readonly #ctx: KernelContext;
  readonly #m: Record<string, Float32Array> = {};
  readonly #v: Record<string, Float32Array> = {};
  readonly #memory: HostMemory;
  readonly #update: UpdateOps;
  #disposed = false;
  #t = 0;
  /** [loss, ...terms, l0, sse, sst, ste] summed since the last read. */
  #stats: number[];
  #statSteps = 0;
  /** Steps since the last read whose kernel reported an STE-window fraction. */
  #steSteps = 0;
  /** Phase timings of the last step, in ms. */
  lastTimings: StepTimings = { forward: 0, backward: 0, update: 0, encoder: null };

  constructor(arch: TrainingLayout, init: InitResult, options: FastEngineOptions) {
    const kernel = options.kernel;
    this.backend = options.backend;
    this.#arch = arch;
    this.#kernel = kernel;
    this.#options = options;
    const dec = init.params[arch.decoderParam];
    const [f, d] = dec.shape;
    this.#shapes = Object.fromEntries(Object.entries(init.params).map(([k, t]) => [k, t.shape]));
    this.#stateShapes = Object.fromEntries(
      Object.entries(init.state).map(([k, t]) => [k, t.shape]),
    );
    // In the wasm module's memory when its kernels run the sparse products, so they work in place.
    const memory = options.wasm ? arenaMemory(options.wasm.arena) : JS_MEMORY;
    this.#memory = memory;
    this.#update = options.wasm ? wasmUpdate(options.wasm) : JS_UPDATE;
    const copy = (data: Float32Array) => {
      const a = memory.f32(data.length);
      a.set(data);
      return a;
    };
    const params: Record<string, Float32Array> = {};
    const grads: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(init.params)) {
      params[name] = copy(this.#toInternal(name, t.data));
      grads[name] = memory.f32(t.data.length);
      this.#m[name] = memory.f32(t.data.length);
      this.#v[name] = memory.f32(t.data.length);
    }
    const state: Record<string, Float32Array> = {};
    for (const [name, t] of Object.entries(init.state)) state[name] = copy(t.data);
    this.#ctx = {
      params,
      grads,
      state,
      d,
      f,
      sae: options.sae,
      blas: options.blas,
      ops: new ActiveOps(options.blas, {
        denseAbove: options.denseAbove ?? 0.005,
        sparse: options.wasm ? new WasmSparse(options.wasm) : undefined,
      }),
      ws: new Workspace(memory),
      memory,
      latents: new ActiveList(1024, memory),
      lists: new Map(),
    };
    this.#stats = new Array(statsRowLength(arch.termNames(options.sae).length)).fill(0);
  }

  /** Copy of external-layout data in the internal layout (transposed params become [F, D]). */
  #toInternal(name: string, data: Float32Array): Float32Array {
    if (!this.#kernel.transposed.includes(name)) return new Float32Array(data);
    const [rows, cols] = this.#shapes[name];
    return transpose(data, rows, cols);
  }

  #toExternal(name: string, data: Float32Array): Float32Array {
    if (!this.#kernel.transposed.includes(name)) return new Float32Array(data);
    const [rows, cols] = this.#shapes[name];
    return transpose(data, cols, rows);
  }

  /** Loss terms and gradients of one batch without updating anything (for parity tests). */
  gradients(x: Float32Array, hyper: StepHyper): { terms: number[]; grads: HostTensors } {
    const out = this.#forwardBackward(x, hyper);
    const grads: HostTensors = {};
    for (const [name, g] of Object.entries(this.#ctx.grads)) {
      grads[name] = { shape: [...this.#shapes[name]], data: this.#toExternal(name, g) };
    }
    return { terms: out.terms, grads };
  }

  #forwardBackward(x: Float32Array, hyper: StepHyper) {
    const ctx = this.#ctx;
    for (const g of Object.values(ctx.grads)) g.fill(0);
    const b = x.length / ctx.d;
    return this.#kernel.step(ctx, x, { ...hyper, b });
  }

  step(x: Float32Array, hyper: StepHyper): void {
    const ctx = this.#ctx;
    const arch = this.#arch;
    const sae = this.#options.sae;
    const b = x.length / ctx.d;
    const t0 = performance.now();
    const out = this.#forwardBackward(x, hyper);
    const t1 = performance.now();

    const names = Object.keys(ctx.params);
    const dec = arch.decoderParam;
    const update = this.#update;
    if (arch.unitNormDecoder) update.projectRows(ctx.grads[dec], ctx.params[dec], ctx.d);
    let ss = 0;
    if (this.#options.gradClip !== null) { for (const n of names) ss += sumSquares(ctx.grads[n]); }
    const scale = clipFactor(Math.sqrt(ss), this.#options.gradClip);
    this.#t += 1;
    const adam = adamStep(arch, { sae, t: this.#t, lr: hyper.lr });
    for (const n of names) {
      update.adamUpdate(ctx.params[n], ctx.grads[n], {
        m: this.#m[n],
        v: this.#v[n],
        beta1: adam.beta1,
        beta2: adam.beta2,
        c1: adam.c1,
        c2: adam.c2,
        lr: adam.lrOf(n),
        eps: this.#options.adamEps,
        scale,
      });
    }
    if (arch.unitNormDecoder) update.normalizeRows(ctx.params[dec], ctx.d);
    this.#kernel.constrain?.(ctx);
    this.#kernel.updateState?.(ctx, b);
    this.lastTimings = {
      forward: out.forwardEnd - t0,
      backward: t1 - out.forwardEnd,
      update: performance.now() - t1,
      encoder: out.encoderMs ?? null,
    };

    // Statistics: loss, terms, l0 (f > 0 per token), sse, sst.
    let total = 0;
    for (const v of out.terms) total += v;
    let active = 0;
    const lat = ctx.latents;
    for (let j = 0; j < lat.n; j++) if (lat.val[j] > 0) active++;
    const k = out.terms.length;
    this.#stats[0] += total;
    for (let i = 0; i < k; i++) this.#stats[1 + i] += out.terms[i];
    this.#stats[1 + k] += active / b;
    this.#stats[2 + k] += out.sse;
    this.#stats[3 + k] += batchSpread(x, b, ctx.d);
    if (out.steWindow !== undefined) {
      this.#stats[4 + k] += out.steWindow;
      this.#steSteps += 1;
    }
    this.#statSteps += 1;
  }

  readStats(): StepStats {
    const all = { ...this.#ctx.params, ...this.#ctx.state };
    const nonFinite = Object.keys(all).filter((name) => !all[name].every(Number.isFinite));
    const state = this.#ctx.state;
    const deadTokens = deadTokensOf(this.#arch, {
      sae: this.#options.sae,
      stateNames: Object.keys(state),
    });
    const stats = statsFromRow(this.#stats, {
      steps: this.#statSteps,
      termNames: this.#arch.termNames(this.#options.sae),
      nonFinite,
      steSteps: this.#steSteps,
      deadFrac: deadTokens === undefined ? undefined : deadFraction(state.since_fired, deadTokens),
    });
    this.#stats.fill(0);
    this.#statSteps = 0;
    this.#steSteps = 0;
    return stats;
  }

  encode(x: Float32Array, n: number): { f: Float32Array; xHat: Float32Array } {
    return this.#kernel.encode(this.#ctx, x, n);
  }

  snapshot(): EngineSnapshot {
    const host = (src: Record<string, Float32Array>, shapes: Record<string, number[]>) =>
      Object.fromEntries(
        Object.entries(src).map(([n, a]) => [n, {
          shape: [...shapes[n]],
          data: shapes === this.#shapes ? this.#toExternal(n, a) : new Float32Array(a),
        }]),
      );
    return {
      params: host(this.#ctx.params, this.#shapes),
      state: host(this.#ctx.state, this.#stateShapes),
      optimizer: { t: this.#t, m: host(this.#m, this.#shapes), v: host(this.#v, this.#shapes) },
    };
  }

  restore(s: EngineSnapshot): void {
    const load = (dst: Record<string, Float32Array>, src: HostTensors, transposed: boolean) => {
      for (const name of Object.keys(dst)) {
        const t = src[name];
        if (!t) throw new Error(`snapshot lacks tensor ${name}`);
        dst[name].set(transposed ? this.#toInternal(name, t.data) : t.data);
      }
    };
    load(this.#ctx.params, s.params, true);
    load(this.#ctx.state, s.state, false);
    load(this.#m, s.optimizer.m, true);
    load(this.#v, s.optimizer.v, true);
    this.#t = s.optimizer.t;
  }

  /** Bytes of host memory held by parameters, moments, gradients and scratch. */
  bytes(): number {
    let n = this.#ctx.ws.bytes();
    for (const group of [this.#ctx.params, this.#ctx.grads, this.#m, this.#v]) {
      for (const a of Object.values(group)) n += a.byteLength;
    }
    return n;
  }

  /** Gives the buffers held in the wasm module's memory back (a no-op for plain arrays). */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const ctx = this.#ctx;
    for (const group of [ctx.params, ctx.grads, ctx.state, this.#m, this.#v]) {
      for (const a of Object.values(group)) this.#memory.free(a);
    }
    ctx.ws.dispose();
    ctx.latents.dispose();
    for (const l of ctx.lists.values()) l.dispose();
    ctx.lists.clear();
  }
}

/** sum over b, d of (x[b, d] - mean_b x[., d])^2 for x [B, D] (flat loops: see vec.ts). */
function batchSpread(x: Float32Array, b: number, d: number): number {
  const mean = new Float64Array(d);
  const n = b * d;
  for (let i = 0, k = 0; i < n; i++, k = k + 1 === d ? 0 : k + 1) mean[k] += x[i];
  for (let k = 0; k < d; k++) mean[k] /= b;
  let s = 0;
  for (let i = 0, k = 0; i < n; i++, k = k + 1 === d ? 0 : k + 1) {
    const e = x[i] - mean[k];
    s += e * e;
  }
  return s;
}
