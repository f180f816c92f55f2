// The webgpu engine: parameters, Adam moments, state and every intermediate live in GPU buffers
// allocated once; a training step writes the batch and a few scalars, records one command buffer
// of hand-written WGSL kernels (step_programs.ts) and submits it without waiting. The device is
// read only by readStats(), encode() and snapshot(), which the trainer awaits at log steps.
// Shapes: B batch, D d_model, F latents.
import type { HostTensors, InitResult, SaeConfig } from "../types.ts";
import type { EngineArchitecture } from "../architecture.ts";
import type { Engine, EngineSnapshot, StepHyper, StepStats } from "../engine.ts";
import { deadFraction, deadTokensOf, statsFromRow, statsRowLength } from "../step_stats.ts";
import { adamStep } from "../adam_settings.ts";
import type { GpuDevice } from "./device.ts";
import type { WebGpuKernel } from "./kernel.ts";
import { type Program, recordPrograms } from "./program.ts";
import {
  columnChunks,
  encoderPrograms,
  GATE_SLOTS,
  gateCounts,
  type StepBuffers,
  type StepLayout,
  stepPrograms,
} from "./step_programs.ts";
import { elementwise, PARTS } from "./wgsl.ts";
import { QN } from "../step_layout.ts";
import { prefixGroups } from "../step_terms.ts";
import { sparsePlan } from "../sparse_plan.ts";

export interface WebGpuEngineOptions {
  sae: SaeConfig;
  adamEps: number;
  /** Global gradient-norm clip, or null. */
  gradClip: number | null;
  /** Batch size B the buffers are sized for (every step uses it; encode() works in chunks of it). */
  batch: number;
  /**
   * Sparse products for k-sparse codes: true always, false never, unset by sparsePlan's rule
   * (hardware adapters only). Tests force them on llvmpipe.
   */
  sparse?: boolean;
}

/** Writes host data into a buffer (data in a SharedArrayBuffer is copied first). */
function write(device: GPUDevice, buf: GPUBuffer, data: Float32Array | Uint32Array): void {
  const plain = data.buffer instanceof ArrayBuffer ? data : data.slice();
  device.queue.writeBuffer(buf, 0, plain as Float32Array<ArrayBuffer>);
}

/** Steps queued on the device before settle() waits (enough to hide the ~10 ms completion poll). */
const MAX_IN_FLIGHT = 4;

const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

export class WebGpuEngine implements Engine {
  readonly backend = "webgpu";
  readonly adapter: string;
  readonly #gpu: GpuDevice;
  readonly #arch: EngineArchitecture;
  readonly #sae: SaeConfig;
  readonly #layout: StepLayout;
  readonly #step: Program[];
  readonly #encode: Program[];
  readonly #shapes: Record<string, number[]>;
  readonly #stateShapes: Record<string, number[]>;
  readonly #owned: GPUBuffer[] = [];
  readonly #statLen: number;
  readonly #hp: Float32Array;
  readonly #finiteChecks: Program[];
  readonly #flags: GPUBuffer;
  #t = 0;
  #statSteps = 0;
  /** Completion of the steps submitted and not yet settled, oldest first. */
  readonly #inFlight: Promise<unknown>[] = [];
  #disposed = false;

  constructor(
    gpu: GpuDevice,
    arch: EngineArchitecture,
    init: InitResult,
    options: WebGpuEngineOptions,
  ) {
    const kernel = arch.kernels?.webgpu as WebGpuKernel;
    this.#gpu = gpu;
    this.adapter = gpu.adapter;
    this.#arch = arch;
    this.#sae = options.sae;
    const device = gpu.device;
    device.pushErrorScope("validation");
    const [f, d] = init.params[arch.decoderParam].shape;
    const b = options.batch;
    const step = kernel.step(options.sae, { d, f });
    this.#shapes = Object.fromEntries(Object.entries(init.params).map(([k, t]) => [k, t.shape]));
    this.#stateShapes = Object.fromEntries(
      Object.entries(init.state).map(([k, t]) => [k, t.shape]),
    );
    const make = (n: number, label: string, data?: Float32Array, usage = USAGE) => {
      const buf = device.createBuffer({ size: Math.max(16, n * 4), usage, label });
      if (data) write(device, buf, data);
      this.#owned.push(buf);
      return buf;
    };
    const paramNames = Object.keys(init.params);
    const params: Record<string, GPUBuffer> = {};
    const grads: Record<string, GPUBuffer> = {};
    const m: Record<string, GPUBuffer> = {};
    const v: Record<string, GPUBuffer> = {};
    const sizes: Record<string, number> = {};
    for (const name of paramNames) {
      const n = init.params[name].data.length;
      sizes[name] = n;
      params[name] = make(n, name, init.params[name].data);
      grads[name] = make(n, `g ${name}`);
      m[name] = make(n, `m ${name}`);
      v[name] = make(n, `v ${name}`);
    }
    const state: Record<string, GPUBuffer> = {};
    for (const [name, t] of Object.entries(init.state)) {
      state[name] = make(t.data.length, name, t.data);
    }
    const termCount = arch.termNames(options.sae).length;
    this.#statLen = statsRowLength(termCount);
    const maxDim = Math.max(d, f);
    const buffers: StepBuffers = {
      x: make(b * d, "x"),
      xIn: make(b * d, "xIn"),
      pre: make(b * f, "pre"),
      f: make(b * f, "f"),
      df: make(b * f, "df"),
      xHat: make(b * d, "xHat"),
      dxHat: make(b * d, "dxHat"),
      xMean: make(d, "xMean"),
      cp: make(QN * Math.min(64, b) * f, "column partials"),
      cs: make(QN * f, "column sums"),
      cpart: make(64 * maxDim, "column-sum partials"),
      part: make(64 * PARTS, "partial sums"),
      scal: make(64, "scalars"),
      stats: make(this.#statLen, "stats"),
      hp: make(8 + paramNames.length, "hyper"),
      kth: make(b, "kth"),
      ctl: make(258, "select control"),
      rown: make(f, "decoder row norms"),
    };
    const auxTerm = step.terms.find((t) => t.kind === "auxk");
    const aux = auxTerm
      ? {
        e: make(b * d, "aux e"),
        eHat: make(b * d, "aux eHat"),
        fAux: make(b * f, "aux f"),
        dfAux: make(b * f, "aux df"),
        kthAux: make(b, "aux kth"),
        eMean: make(d, "aux e mean"),
        gate: make(
          3 * GATE_SLOTS,
          "aux dispatch counts",
          undefined,
          USAGE | GPUBufferUsage.INDIRECT,
        ),
        gateFull: make(3 * GATE_SLOTS, "aux full dispatch counts"),
        gated: [],
      }
      : undefined;
    // Lists of the sparse products (u32, the size of the matrices they index) when the code is
    // k-sparse: each row's kept latents, each latent's rows by column-pass chunk.
    const plan = sparsePlan(step, { f, software: gpu.fallback, sparse: options.sparse });
    const sparse = plan.main
      ? {
        rowIdx: make(b * f, "row lists"),
        rowCnt: make(b, "row list counts"),
        cols: {
          idx: make(f * b, "latent lists"),
          cnt: make(columnChunks(b).chunks * f, "latent list counts"),
          ...columnChunks(b),
        },
        aux: plan.aux
          ? { idx: make(b * f, "aux row lists"), cnt: make(b, "aux row list counts") }
          : undefined,
      }
      : undefined;
    const prefixTerm = step.terms.find((t) => t.kind === "prefix_recon");
    // Matryoshka: its widest inner group sizes the per-group buffers.
    const group = Math.max(0, ...prefixGroups(prefixTerm?.widths ?? []).map((g) => g.hi - g.lo));
    const prefix = prefixTerm && {
      mx: make(b * d, "prefix xHat"),
      dx: prefixTerm.widths.map((w) => make(b * d, `prefix ${w} dxHat`)),
      fg: make(b * group, "prefix group f"),
      wg: make(group * d, "prefix group W_dec"),
      gg: make(Math.max(b, d) * group, "prefix group product"),
    };
    const gated = step.selection.kind === "gate_magnitude"
      ? { g: make(b * f, "gate"), x: make(b * d, "gate xHat"), s: make(f, "d pre sums") }
      : undefined;
    const [beta1, beta2] = arch.adamBetas(options.sae);
    this.#layout = {
      b,
      d,
      f,
      step,
      paramNames,
      params,
      grads,
      m,
      v,
      sizes,
      state,
      buffers,
      aux,
      adam: { beta1, beta2, eps: options.adamEps, gradClip: options.gradClip },
      unitNormDecoder: arch.unitNormDecoder,
      software: gpu.fallback,
      termCount,
      sparse,
      prefix,
      gated,
    };
    this.#hp = new Float32Array(8 + paramNames.length);
    this.#step = stepPrograms(device, this.#layout);
    if (aux) write(device, aux.gateFull, gateCounts(this.#layout));
    this.#encode = encoderPrograms(device, this.#layout, { training: false });
    // Non-finite check: one flag per parameter and state tensor, set where an exponent is all ones.
    const checked = [...paramNames.map((n) => params[n]), ...Object.values(state)];
    this.#flags = make(checked.length, "non-finite flags");
    this.#finiteChecks = checked.map((buf, k) =>
      elementwise(device, {
        label: "non-finite check",
        n: buf.size / 4,
        body: `if (((bitcast<u32>(t[i]) >> 23u) & 255u) == 255u) { fl[${k}] = 1u; }`,
        buffers: { t: buf, fl: this.#flags },
        types: { fl: "array<u32>" },
      })
    );
  }

  /** Throws the first WGSL compilation or validation error of the construction, if any. */
  async ready(): Promise<this> {
    const error = await this.#gpu.device.popErrorScope();
    if (error) {
      this.dispose();
      throw new Error(`webgpu engine: ${error.message}`);
    }
    return this;
  }

  step(x: Float32Array, hyper: StepHyper): void {
    const { device } = this.#gpu;
    const L = this.#layout;
    if (x.length !== L.b * L.d) {
      throw new Error(`webgpu engine: batch of ${x.length / L.d} rows, buffers hold ${L.b}`);
    }
    this.#t += 1;
    const adam = adamStep(this.#arch, { sae: this.#sae, t: this.#t, lr: hyper.lr });
    const hp = this.#hp;
    hp[0] = hyper.lambda;
    hp[1] = hyper.lr;
    hp[2] = adam.c1;
    hp[3] = adam.c2;
    L.paramNames.forEach((n, i) => hp[4 + i] = adam.lrOf(n));
    write(device, L.buffers.x, x);
    write(device, L.buffers.hp, hp);
    this.#run(this.#step);
    this.#inFlight.push(device.queue.onSubmittedWorkDone());
    this.#statSteps += 1;
  }

  async settle(): Promise<void> {
    while (this.#inFlight.length > MAX_IN_FLIGHT) await this.#inFlight.shift();
  }

  /**
   * Milliseconds of each program of one training step: the time `reps` more dispatches of it add
   * to one submit-and-wait (so the ~10 ms round trip cancels; the shortest of two tries each). For
   * finding the slow kernel, never in training; the programs' buffers end up meaningless.
   */
  async profileStep(
    x: Float32Array,
    hyper: StepHyper,
    reps = 4,
  ): Promise<{ label: string; ms: number }[]> {
    const { device } = this.#gpu;
    this.step(x, hyper); // uploads x and the step's scalars; its own work is awaited first
    await device.queue.onSubmittedWorkDone();
    const timed = async (programs: Program[]) => {
      let best = Infinity;
      for (let t = 0; t < 2; t++) {
        const t0 = performance.now();
        this.#run(programs);
        await device.queue.onSubmittedWorkDone();
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    };
    const out: { label: string; ms: number }[] = [];
    for (const p of this.#step) {
      const one = await timed([p]);
      const more = await timed(Array(1 + reps).fill(p));
      out.push({ label: p.label, ms: (more - one) / reps });
    }
    return out;
  }

  #run(programs: Program[]): void {
    const { device } = this.#gpu;
    const encoder = device.createCommandEncoder();
    recordPrograms(encoder, programs);
    device.queue.submit([encoder.finish()]);
  }

  /** Copies of `buffers` (byte sizes `bytes`) read back in one submit. */
  async #read(buffers: GPUBuffer[], bytes?: number[]): Promise<Float32Array[]> {
    const { device } = this.#gpu;
    const encoder = device.createCommandEncoder();
    const staging = buffers.map((buf, i) => {
      const size = bytes?.[i] ?? buf.size;
      const s = device.createBuffer({
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      encoder.copyBufferToBuffer(buf, 0, s, 0, size);
      return s;
    });
    device.queue.submit([encoder.finish()]);
    await Promise.all(staging.map((s) => s.mapAsync(GPUMapMode.READ)));
    const out = staging.map((s) => new Float32Array(s.getMappedRange().slice(0)));
    staging.forEach((s) => s.destroy());
    return out;
  }

  async readStats(): Promise<StepStats> {
    const { device } = this.#gpu;
    const L = this.#layout;
    write(device, this.#flags, new Uint32Array(this.#flags.size / 4));
    this.#run(this.#finiteChecks);
    const since = L.state.since_fired;
    const [row, flags, sinceData] = await this.#read([
      L.buffers.stats,
      this.#flags,
      ...(since ? [since] : []),
    ]);
    write(device, L.buffers.stats, new Float32Array(L.buffers.stats.size / 4));
    const names = [...L.paramNames, ...Object.keys(L.state)];
    const flagBits = new Uint32Array(flags.buffer);
    const nonFinite = names.filter((_, k) => flagBits[k] !== 0);
    const deadTokens = deadTokensOf(this.#arch, {
      sae: this.#sae,
      stateNames: Object.keys(L.state),
    });
    const steps = this.#statSteps;
    this.#statSteps = 0;
    return statsFromRow(row, {
      steps,
      termNames: this.#arch.termNames(this.#sae),
      nonFinite,
      steSteps: L.step.selection.kind === "threshold" ? steps : 0,
      deadFrac: deadTokens === undefined || !sinceData
        ? undefined
        : deadFraction(sinceData.subarray(0, L.f), deadTokens),
    });
  }

  async encode(x: Float32Array, n: number): Promise<{ f: Float32Array; xHat: Float32Array }> {
    const { device } = this.#gpu;
    const L = this.#layout;
    const { b, d, f } = L;
    const out = { f: new Float32Array(n * f), xHat: new Float32Array(n * d) };
    const chunk = new Float32Array(b * d);
    for (let r0 = 0; r0 < n; r0 += b) {
      const rows = Math.min(b, n - r0);
      chunk.fill(0);
      chunk.set(x.subarray(r0 * d, (r0 + rows) * d));
      write(device, L.buffers.x, chunk);
      this.#run(this.#encode);
      const [fr, xr] = await this.#read([L.buffers.f, L.buffers.xHat], [
        rows * f * 4,
        rows * d * 4,
      ]);
      out.f.set(fr, r0 * f);
      out.xHat.set(xr, r0 * d);
    }
    return out;
  }

  async snapshot(): Promise<EngineSnapshot> {
    const L = this.#layout;
    const names = L.paramNames;
    const stateNames = Object.keys(L.state);
    const bytes = (n: string) => L.sizes[n] * 4;
    const data = await this.#read(
      [
        ...names.map((n) => L.params[n]),
        ...names.map((n) => L.m[n]),
        ...names.map((n) => L.v[n]),
        ...stateNames.map((n) => L.state[n]),
      ],
      [
        ...names.map(bytes),
        ...names.map(bytes),
        ...names.map(bytes),
        ...stateNames.map((n) => this.#stateSize(n) * 4),
      ],
    );
    const host = (offset: number, list: string[], shapes: Record<string, number[]>): HostTensors =>
      Object.fromEntries(
        list.map((n, i) => [n, { shape: [...shapes[n]], data: data[offset + i] }]),
      );
    const k = names.length;
    return {
      params: host(0, names, this.#shapes),
      state: host(3 * k, stateNames, this.#stateShapes),
      optimizer: {
        t: this.#t,
        m: host(k, names, this.#shapes),
        v: host(2 * k, names, this.#shapes),
      },
    };
  }

  #stateSize(name: string): number {
    return this.#stateShapes[name].reduce((a, x) => a * x, 1);
  }

  restore(s: EngineSnapshot): void {
    const { device } = this.#gpu;
    const L = this.#layout;
    const load = (dst: Record<string, GPUBuffer>, src: HostTensors) => {
      for (const name of Object.keys(dst)) {
        const t = src[name];
        if (!t) throw new Error(`snapshot lacks tensor ${name}`);
        write(device, dst[name], t.data);
      }
    };
    load(L.params, s.params);
    load(L.state, s.state);
    load(L.m, s.optimizer.m);
    load(L.v, s.optimizer.v);
    this.#t = s.optimizer.t;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const b of this.#owned) b.destroy();
    this.#gpu.device.destroy();
  }
}
