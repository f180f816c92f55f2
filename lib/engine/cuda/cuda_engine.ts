// The cuda engine: parameters, Adam moments, state and every intermediate live in device memory
// allocated once; a training step uploads the batch and a few scalars from pinned host memory and
// queues the step's cuBLAS products and NVRTC-compiled kernels (engine_plan.ts) on one stream
// without waiting. The device is read only by readStats(), encode() and snapshot(). At most two
// steps are queued ahead of the host (one pinned upload slot each).
// Shapes: B batch, D d_model, F latents.
import type { HostTensors, InitResult, SaeConfig } from "../types.ts";
import type { EngineArchitecture } from "../architecture.ts";
import type { Engine, EngineSnapshot, StepHyper, StepStats } from "../engine.ts";
import { deadFraction, deadTokensOf, statsFromRow } from "../step_stats.ts";
import { adamStep } from "../adam_settings.ts";
import { checkCu, checkCublas, cstr, CudaError, ptrOut } from "./ffi.ts";
import type { CudaDevice } from "./device.ts";
import { compileCubin } from "./nvrtc.ts";
import { deviceBytes, type EnginePlan, enginePlan } from "./engine_plan.ts";
import { type GemmOp, type Op, P, workBuffers } from "./step_plan.ts";

import type { Precision } from "../names.ts";

/** cublasComputeType_t of each precision (fp32 inputs and outputs throughout). */
const COMPUTE_TYPE: Record<Precision, number> = {
  fp32: 68, // CUBLAS_COMPUTE_32F
  tf32: 77, // CUBLAS_COMPUTE_32F_FAST_TF32
  bf16: 75, // CUBLAS_COMPUTE_32F_FAST_16BF
};
const CUDA_R_32F = 0;
const CUBLAS_GEMM_DEFAULT = -1;
/** cublasOperation_t */
export const OP_N = 0;
export const OP_T = 1;
const CU_EVENT_DISABLE_TIMING = 2;

export interface CudaEngineOptions {
  sae: SaeConfig;
  adamEps: number;
  /** Global gradient-norm clip, or null. */
  gradClip: number | null;
  /** Batch size B the buffers are sized for. */
  batch: number;
  precision?: Precision;
  /** Sparse products for k-sparse codes: true always, false never, unset by sparsePlan's rule. */
  sparse?: boolean;
}

/** A launch ready to go: its function and its argument block (kept alive with the engine). */
type Prepared =
  | {
    kind: "kernel";
    when?: "aux" | "noAux";
    label: string;
    fn: Deno.PointerValue;
    grid: [number, number];
    block: number;
    params: BigUint64Array<ArrayBuffer>;
    args: BigUint64Array<ArrayBuffer>;
  }
  | {
    kind: "gemm";
    when?: "aux" | "noAux";
    op: GemmOp;
    call: ReturnType<typeof columnMajorCall>;
    a: bigint;
    b: bigint;
    c: bigint;
    alpha: Float32Array<ArrayBuffer>;
    beta: Float32Array<ArrayBuffer>;
  };

/**
 * The column-major cuBLAS call of a row-major product: C[m, n] = op(A) op(B) row-major is
 * C^T[n, m] = op(B)^T op(A)^T column-major, so B's memory comes first, with the operands'
 * leading dimensions read off their row-major shapes (or `at`, for sub-matrices).
 */
export function columnMajorCall(o: GemmOp): {
  transa: number;
  transb: number;
  m: number;
  n: number;
  k: number;
  first: "a" | "b";
  lda: number;
  ldb: number;
  ldc: number;
} {
  return {
    transa: o.transB ? OP_T : OP_N,
    transb: o.transA ? OP_T : OP_N,
    m: o.n,
    n: o.m,
    k: o.k,
    first: "b",
    lda: o.transB ? o.k : o.n,
    ldb: o.at?.lda ?? (o.transA ? o.m : o.k),
    ldc: o.at?.ldc ?? o.n,
  };
}

export class CudaEngine implements Engine {
  readonly backend: string;
  readonly device: string;
  readonly precision: Precision;
  readonly #gpu: CudaDevice;
  readonly #arch: EngineArchitecture;
  readonly #sae: SaeConfig;
  readonly #plan: EnginePlan;
  readonly #buf = new Map<string, bigint>();
  readonly #bytes = new Map<string, number>();
  readonly #module: Deno.PointerValue;
  readonly #step: Prepared[];
  readonly #encode: Prepared[];
  readonly #checks: Prepared[];
  readonly #shapes: Record<string, number[]>;
  readonly #stateShapes: Record<string, number[]>;
  /** Pinned upload slots [x (B*D) | hp], one per queued step, and their completion events. */
  readonly #pinned: {
    ptr: Deno.PointerValue;
    x: Float32Array;
    hp: Float32Array;
    event: Deno.PointerValue;
    used: boolean;
  }[] = [];
  #t = 0;
  #statSteps = 0;
  /**
   * A host bound on since_fired: at most `#sinceMax + #sinceSteps * B`. While it is below AuxK's
   * dead_tokens no latent can be dead, and AuxK's selection and three GEMMs (zero work) are
   * skipped; once it is reached they run at every step.
   */
  #sinceMax = 0;
  #sinceSteps = 0;
  #auxOn = false;
  readonly #deadTokens: number | null;
  #disposed = false;

  constructor(
    gpu: CudaDevice,
    arch: EngineArchitecture,
    init: InitResult,
    options: CudaEngineOptions,
  ) {
    this.#gpu = gpu;
    this.#arch = arch;
    this.#sae = options.sae;
    this.precision = options.precision ?? "fp32";
    this.backend = this.precision === "fp32" ? "cuda" : `cuda-${this.precision}`;
    this.device = `${gpu.name} (${gpu.arch}; ${gpu.versions})`;
    this.#plan = enginePlan(arch, init, options);
    const L = this.#plan.layout;
    const auxTerm = L.step.terms.find((t) => t.kind === "auxk");
    this.#deadTokens = auxTerm?.kind === "auxk" ? auxTerm.deadTokens : null;
    this.#boundSince(init.state.since_fired?.data);
    this.#shapes = Object.fromEntries(Object.entries(init.params).map(([k, t]) => [k, t.shape]));
    this.#stateShapes = Object.fromEntries(
      Object.entries(init.state).map(([k, t]) => [k, t.shape]),
    );
    const cu = gpu.driver;
    const need = deviceBytes(this.#plan);
    const { free } = gpu.memory();
    if (need > free) {
      throw new CudaError(
        `cuda engine: the run needs ${(need / 2 ** 30).toFixed(2)} GiB of device memory, ` +
          `${(free / 2 ** 30).toFixed(2)} GiB are free on ${gpu.name}`,
        { code: 2, hint: "a smaller batch or width, or fewer runs on this GPU at once" },
      );
    }
    // Module first: a compile error allocates nothing.
    const cubin = compileCubin(this.#plan.module.source, gpu.arch, {
      kernels: this.#plan.module.kernels,
    });
    const modOut = new BigUint64Array(1);
    checkCu(
      cu,
      cu.cuModuleLoadData(modOut, cubin as Uint8Array<ArrayBuffer>),
      `cuModuleLoadData (${gpu.arch} CUBIN)`,
    );
    this.#module = ptrOut(modOut);
    try {
      const alloc = (name: string, n: number, data?: Float32Array) => {
        const bytes = Math.max(16, n * 4);
        const out = new BigUint64Array(1);
        checkCu(
          cu,
          cu.cuMemAlloc_v2(out, BigInt(bytes)),
          `cuMemAlloc of ${bytes} bytes for ${name}`,
        );
        this.#buf.set(name, out[0]);
        this.#bytes.set(name, bytes);
        checkCu(cu, cu.cuMemsetD32_v2(out[0], 0, BigInt(bytes / 4)), `cuMemsetD32 ${name}`);
        if (data) this.#upload(name, data);
      };
      for (const name of L.paramNames) {
        alloc(P(name), L.sizes[name], init.params[name].data);
        alloc(`g.${name}`, L.sizes[name]);
        alloc(`m.${name}`, L.sizes[name]);
        alloc(`v.${name}`, L.sizes[name]);
      }
      for (const [name, t] of Object.entries(init.state)) alloc(`s.${name}`, t.data.length, t.data);
      for (const [name, n] of Object.entries(workBuffers(L))) alloc(name, n);
      const slotFloats = L.b * L.d + L.paramNames.length + 8;
      for (let s = 0; s < 2; s++) {
        const out = new BigUint64Array(1);
        checkCu(cu, cu.cuMemAllocHost_v2(out, BigInt(slotFloats * 4)), "cuMemAllocHost");
        const ptr = ptrOut(out);
        const view = new Float32Array(Deno.UnsafePointerView.getArrayBuffer(ptr!, slotFloats * 4));
        const ev = new BigUint64Array(1);
        checkCu(cu, cu.cuEventCreate(ev, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        this.#pinned.push({
          ptr,
          x: view.subarray(0, L.b * L.d),
          hp: view.subarray(L.b * L.d),
          event: ptrOut(ev),
          used: false,
        });
      }
      this.#step = this.#prepare(this.#plan.step);
      this.#encode = this.#prepare(this.#plan.encode);
      this.#checks = this.#prepare(this.#plan.checks);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  /** Restarts the host bound on since_fired from its values (absent: no AuxK clock). */
  #boundSince(since: Float32Array | undefined): void {
    let max = 0;
    if (since) { for (const v of since) if (!(v <= max)) max = v; // NaN counts as dead: aux on
     }
    this.#sinceMax = max;
    this.#sinceSteps = 0;
    this.#auxOn = false;
  }

  /** Whether AuxK's work runs this step (a latent may be dead), from the host bound. */
  #auxThisStep(): boolean {
    if (this.#deadTokens === null || this.#auxOn) return true;
    const bound = this.#sinceMax + this.#sinceSteps * this.#plan.layout.b;
    this.#auxOn = !(bound < this.#deadTokens);
    return this.#auxOn;
  }

  #ptr(name: string): bigint {
    const p = this.#buf.get(name);
    if (p === undefined) throw new Error(`cuda engine: no buffer ${name}`);
    return p;
  }

  #upload(name: string, data: Float32Array | Uint32Array): void {
    const plain = data.buffer instanceof ArrayBuffer ? data : data.slice();
    const cu = this.#gpu.driver;
    checkCu(
      cu,
      cu.cuMemcpyHtoD_v2(
        this.#ptr(name),
        plain as Float32Array<ArrayBuffer>,
        BigInt(plain.byteLength),
      ),
      `upload of ${name}`,
    );
  }

  #download(name: string, floats: number): Float32Array {
    const out = new Float32Array(floats);
    const cu = this.#gpu.driver;
    checkCu(
      cu,
      cu.cuMemcpyDtoH_v2(out, this.#ptr(name), BigInt(floats * 4)),
      `download of ${name}`,
    );
    return out;
  }

  #prepare(ops: Op[]): Prepared[] {
    const cu = this.#gpu.driver;
    return ops.map((op): Prepared => {
      if (op.kind === "gemm") {
        return {
          kind: "gemm",
          when: op.when,
          op,
          a: this.#ptr(op.a) + BigInt(4 * (op.at?.a ?? 0)),
          b: this.#ptr(op.b) + BigInt(4 * (op.at?.b ?? 0)),
          c: this.#ptr(op.c) + BigInt(4 * (op.at?.c ?? 0)),
          call: columnMajorCall(op),
          alpha: new Float32Array([op.alpha]),
          beta: new Float32Array([op.beta]),
        };
      }
      const fnOut = new BigUint64Array(1);
      checkCu(
        cu,
        cu.cuModuleGetFunction(fnOut, this.#module, cstr(op.name)),
        `cuModuleGetFunction ${op.name} (${op.label})`,
      );
      // Explicit ArrayBuffers: V8 keeps small typed arrays inside its heap, where they can move;
      // cuLaunchKernel reads these addresses at every launch.
      const args = new BigUint64Array(new ArrayBuffer(8 * op.args.length));
      op.args.forEach((a, i) => args[i] = this.#ptr(a));
      const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(args)));
      // One more entry, left null: CUDA ignores it; tests' CPU emulation counts the arguments by it.
      const params = new BigUint64Array(new ArrayBuffer(8 * (op.args.length + 1)));
      op.args.forEach((_, i) => params[i] = base + BigInt(8 * i));
      return {
        kind: "kernel",
        when: op.when,
        label: op.label,
        fn: ptrOut(fnOut),
        grid: op.grid,
        block: op.block,
        params,
        args,
      };
    });
  }

  /** Queues `list`; `aux` says whether AuxK's work runs (else its zero value is written). */
  #run(list: Prepared[], aux = true): void {
    const { driver: cu, cublas, cublasHandle, stream } = this.#gpu;
    const compute = COMPUTE_TYPE[this.precision];
    for (const p of list) {
      if (p.when && (p.when === "aux") !== aux) continue;
      if (p.kind === "kernel") {
        const status = cu.cuLaunchKernel(
          p.fn,
          p.grid[0],
          p.grid[1],
          1,
          p.block,
          1,
          1,
          0,
          stream,
          p.params,
          null,
        );
        if (status !== 0) checkCu(cu, status, `launch of ${p.label}`);
        continue;
      }
      const o = p.op;
      const c = p.call;
      const status = cublas.cublasGemmEx(
        cublasHandle,
        c.transa,
        c.transb,
        c.m,
        c.n,
        c.k,
        p.alpha,
        p.b,
        CUDA_R_32F,
        c.lda,
        p.a,
        CUDA_R_32F,
        c.ldb,
        p.beta,
        p.c,
        CUDA_R_32F,
        c.ldc,
        compute,
        CUBLAS_GEMM_DEFAULT,
      );
      if (status !== 0) checkCublas(status, `GemmEx (${o.label}, ${o.m}x${o.n}x${o.k})`);
    }
  }

  #sync(): void {
    const cu = this.#gpu.driver;
    checkCu(
      cu,
      cu.cuStreamSynchronize(this.#gpu.stream),
      "cuStreamSynchronize (an earlier kernel failed)",
    );
  }

  step(x: Float32Array, hyper: StepHyper): void {
    const L = this.#plan.layout;
    if (x.length !== L.b * L.d) {
      throw new Error(`cuda engine: batch of ${x.length / L.d} rows, buffers hold ${L.b}`);
    }
    const cu = this.#gpu.driver;
    this.#t += 1;
    const slot = this.#pinned[this.#t % 2];
    if (slot.used) {
      checkCu(cu, cu.cuEventSynchronize(slot.event), "cuEventSynchronize (a step failed)");
    }
    const adam = adamStep(this.#arch, { sae: this.#sae, t: this.#t, lr: hyper.lr });
    slot.x.set(x);
    slot.hp.fill(0);
    slot.hp[0] = hyper.lambda;
    slot.hp[1] = hyper.lr;
    slot.hp[2] = adam.c1;
    slot.hp[3] = adam.c2;
    L.paramNames.forEach((n, i) => slot.hp[4 + i] = adam.lrOf(n));
    const base = BigInt(Deno.UnsafePointer.value(slot.ptr));
    const { stream } = this.#gpu;
    checkCu(
      cu,
      cu.cuMemcpyHtoDAsync_v2(this.#ptr("x"), slot.ptr, BigInt(slot.x.byteLength), stream),
      "upload of the batch",
    );
    checkCu(
      cu,
      cu.cuMemcpyHtoDAsync_v2(
        this.#ptr("hp"),
        Deno.UnsafePointer.create(base + BigInt(slot.x.byteLength)),
        BigInt(slot.hp.byteLength),
        stream,
      ),
      "upload of the step's scalars",
    );
    this.#run(this.#step, this.#auxThisStep());
    this.#sinceSteps += 1;
    checkCu(cu, cu.cuEventRecord(slot.event, stream), "cuEventRecord");
    slot.used = true;
    this.#statSteps += 1;
  }

  /** Waits for every queued step (benchmarks time whole steps with it). */
  finish(): void {
    this.#sync();
  }

  readStats(): StepStats {
    const L = this.#plan.layout;
    const cu = this.#gpu.driver;
    const flagsPtr = this.#ptr("flags");
    const flagCount = L.paramNames.length + L.stateNames.length;
    this.#sync();
    checkCu(cu, cu.cuMemsetD32_v2(flagsPtr, 0, BigInt(flagCount)), "cuMemsetD32 flags");
    this.#run(this.#checks);
    this.#sync();
    const row = this.#download("stats", this.#bytes.get("stats")! / 4);
    const flags = new Uint32Array(this.#download("flags", flagCount).buffer);
    const since = L.stateNames.includes("since_fired")
      ? this.#download("s.since_fired", L.f)
      : undefined;
    checkCu(cu, cu.cuMemsetD32_v2(this.#ptr("stats"), 0, BigInt(row.length)), "cuMemsetD32 stats");
    const names = [...L.paramNames, ...L.stateNames];
    const nonFinite = names.filter((_, k) => flags[k] !== 0);
    const deadTokens = deadTokensOf(this.#arch, { sae: this.#sae, stateNames: L.stateNames });
    const steps = this.#statSteps;
    this.#statSteps = 0;
    return statsFromRow(row, {
      steps,
      termNames: this.#arch.termNames(this.#sae),
      nonFinite,
      steSteps: L.step.selection.kind === "threshold" ? steps : 0,
      deadFrac: deadTokens === undefined || !since ? undefined : deadFraction(since, deadTokens),
    });
  }

  encode(x: Float32Array, n: number): { f: Float32Array; xHat: Float32Array } {
    const { b, d, f } = this.#plan.layout;
    const out = { f: new Float32Array(n * f), xHat: new Float32Array(n * d) };
    const chunk = new Float32Array(b * d);
    this.#sync();
    for (let r0 = 0; r0 < n; r0 += b) {
      const rows = Math.min(b, n - r0);
      chunk.fill(0);
      chunk.set(x.subarray(r0 * d, (r0 + rows) * d));
      this.#upload("x", chunk);
      this.#run(this.#encode);
      this.#sync();
      out.f.set(this.#download("f", rows * f), r0 * f);
      out.xHat.set(this.#download("xHat", rows * d), r0 * d);
    }
    return out;
  }

  snapshot(): EngineSnapshot {
    const L = this.#plan.layout;
    this.#sync();
    const host = (prefix: string, names: string[], shapes: Record<string, number[]>): HostTensors =>
      Object.fromEntries(names.map((n) => {
        const size = shapes[n].reduce((a, x) => a * x, 1);
        return [n, { shape: [...shapes[n]], data: this.#download(`${prefix}.${n}`, size) }];
      }));
    return {
      params: host("p", L.paramNames, this.#shapes),
      state: host("s", L.stateNames, this.#stateShapes),
      optimizer: {
        t: this.#t,
        m: host("m", L.paramNames, this.#shapes),
        v: host("v", L.paramNames, this.#shapes),
      },
    };
  }

  restore(s: EngineSnapshot): void {
    const L = this.#plan.layout;
    this.#sync();
    const load = (prefix: string, names: string[], src: HostTensors) => {
      for (const name of names) {
        const t = src[name];
        if (!t) throw new Error(`snapshot lacks tensor ${name}`);
        this.#upload(`${prefix}.${name}`, t.data);
      }
    };
    load("p", L.paramNames, s.params);
    load("s", L.stateNames, s.state);
    load("m", L.paramNames, s.optimizer.m);
    load("v", L.paramNames, s.optimizer.v);
    this.#t = s.optimizer.t;
    this.#boundSince(s.state.since_fired?.data);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const cu = this.#gpu.driver;
    // Best effort: after a sticky error every call fails, and there is nothing left to save.
    cu.cuStreamSynchronize(this.#gpu.stream);
    for (const p of this.#buf.values()) cu.cuMemFree_v2(p);
    this.#buf.clear();
    for (const s of this.#pinned) {
      cu.cuEventDestroy_v2(s.event);
      cu.cuMemFreeHost(s.ptr);
    }
    this.#pinned.length = 0;
    if (this.#module) cu.cuModuleUnload(this.#module);
  }
}
