// The sparse products of ActiveOps on the WebAssembly SIMD kernels of sgemm.wasm, split over its
// threads: decoding by rows, dot products by entries, gradient accumulation by latent ranges
// (each thread owns whole rows of the gradient and adds a latent's entries in ascending row order,
// so the result does not depend on the thread count).
// Buffers allocated in the module's memory (lib/engine/cpu/gemm/arena.ts) are used in place; any other is
// copied in, and outputs back out.
// Shapes: B batch, D d_model, F latents, N active entries.
import type { ActiveList, BackwardOperands } from "./active.ts";
import type { WasmKernels } from "./wasm_kernels.ts";

/** Below this many multiply-adds a product runs on the calling thread only. */
const MIN_PARALLEL_WORK = 1 << 18;

type View = Float32Array | Int32Array;

/** Splits [0, n) into `parts` ranges of about equal size. */
function even(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.ceil(n / parts);
  for (let s = 0; s < n; s += step) out.push([s, Math.min(n, s + step)]);
  return out.length ? out : [[0, 0]];
}

/** Splits latents [0, f) so each range holds about the same number of entries (colStart [f+1]). */
function byEntries(colStart: Int32Array, f: number, parts: number): [number, number][] {
  const total = colStart[f];
  const out: [number, number][] = [];
  let s = 0;
  for (let p = 1; p < parts; p++) {
    const target = (total * p) / parts;
    let e = s;
    while (e < f && colStart[e] < target) e++;
    if (e > s) {
      out.push([s, e]);
      s = e;
    }
  }
  out.push([s, f]);
  return out;
}

export class WasmSparse {
  readonly #gemm: WasmKernels;
  /** Temporary copies made for the current call: [offset, view, entries, copy back]. */
  #temps: [number, View, number, boolean][] = [];

  constructor(gemm: WasmKernels) {
    this.#gemm = gemm;
  }

  /** Per-row thresholds of topkSelect [B] (copied into the module's memory when used). */
  #kth = new Float32Array(0);

  /** Copies made because a buffer lived outside the module's memory (for benchmarks). */
  copies = 0;

  /** Byte offset of `a[0 .. count)` in the module's memory, copying it there if needed. */
  #at(a: View, count: number, options: { read?: boolean; write?: boolean } = {}): number {
    const arena = this.#gemm.arena;
    const at = arena.offsetOf(a);
    if (at >= 0) return at;
    const temp = arena.alloc(count * 4);
    if (temp < 0) throw new RangeError("sparse product operands exceed the 4 GiB wasm memory");
    this.copies++;
    const view = a instanceof Float32Array
      ? new Float32Array(arena.buffer(), temp, count)
      : new Int32Array(arena.buffer(), temp, count);
    if (options.read !== false) view.set(a.subarray(0, count));
    this.#temps.push([temp, a, count, options.write ?? false]);
    return temp;
  }

  #done(): void {
    const arena = this.#gemm.arena;
    for (const [at, a, n, back] of this.#temps) {
      if (back) {
        a.set(
          a instanceof Float32Array
            ? new Float32Array(arena.buffer(), at, n)
            : new Int32Array(arena.buffer(), at, n),
        );
      }
      arena.release(at);
    }
    this.#temps = [];
  }

  #lanes(work: number): number {
    return work < MIN_PARALLEL_WORK ? 1 : this.#gemm.lanes();
  }

  #run(fn: () => void): void {
    try {
      fn();
    } finally {
      this.#done();
    }
  }

  /** out [B, D] = bias (or 0) + sum over entries of coef * w[col, :]. */
  decode(
    list: ActiveList,
    coef: Float32Array,
    o: { w: Float32Array; d: number; out: Float32Array; bias?: Float32Array },
  ): void {
    const b = list.rows;
    this.#run(() => {
      const args = [
        this.#at(list.rowStart, b + 1),
        this.#at(list.col, list.n),
        this.#at(coef, list.n),
        this.#at(o.w, list.cols * o.d),
        o.d,
        this.#at(o.out, b * o.d, { read: false, write: true }),
        o.bias ? this.#at(o.bias, o.d) : 0,
      ];
      this.#gemm.run("sparseDecode", args, even(b, this.#lanes(list.n * o.d + b * o.d)));
    });
  }

  /** out[j] = a[row_j, :] . w[col_j, :]. */
  dots(list: ActiveList, o: { a: Float32Array; w: Float32Array; d: number; out: Float32Array }) {
    this.#run(() => {
      const args = [
        this.#at(list.row, list.n),
        this.#at(list.col, list.n),
        this.#at(o.a, list.rows * o.d),
        this.#at(o.w, list.cols * o.d),
        o.d,
        this.#at(o.out, list.n, { read: false, write: true }),
      ];
      this.#gemm.run("sparseDots", args, even(list.n, this.#lanes(list.n * o.d)));
    });
  }

  /** Latent ranges for the threads, balanced by entries when there is more than one. */
  #latentParts(list: ActiveList, work: number): [number, number][] {
    const lanes = this.#lanes(work);
    if (lanes === 1) return [[0, list.cols]];
    return byEntries(list.byColumn().colStart, list.cols, lanes);
  }

  /** g[col_j, :] += coef[j] * src[row_j, :]. */
  accumulate(
    list: ActiveList,
    coef: Float32Array,
    o: { src: Float32Array; g: Float32Array; d: number },
  ): void {
    const f = list.cols;
    const b = list.rows;
    const parts = this.#latentParts(list, list.n * o.d);
    this.#run(() => {
      const args = [
        this.#at(list.rowStart, b + 1),
        this.#at(list.col, list.n),
        this.#at(coef, list.n),
        this.#at(o.src, b * o.d),
        this.#at(o.g, f * o.d, { write: true }),
        o.d,
        b,
      ];
      this.#gemm.run("sparseAccumulate", args, parts);
    });
  }

  /** The fused backward of ActiveOps.backward (see there). */
  backward(list: ActiveList, o: BackwardOperands): void {
    const f = list.cols;
    const b = list.rows;
    const { d } = o;
    const parts = this.#latentParts(list, 3 * list.n * d);
    this.#run(() => {
      const args = [
        this.#at(list.rowStart, b + 1),
        this.#at(list.col, list.n),
        this.#at(list.val, list.n),
        this.#at(list.grad, list.n, { read: false, write: true }),
        o.add ? this.#at(o.add, f) : 0,
        this.#at(o.dy, b * d),
        this.#at(o.w, f * d),
        this.#at(o.gW, f * d, { write: true }),
        this.#at(o.src, b * d),
        this.#at(o.gSrc, f * d, { write: true }),
        d,
        b,
      ];
      this.#gemm.run("sparseBackward", args, parts);
    });
  }

  /** Turns per-row counts in start[0 .. b) into row starts, start[b] = total; returns the total. */
  #starts(start: Int32Array, b: number): number {
    let total = 0;
    for (let r = 0; r < b; r++) {
      const c = start[r];
      start[r] = total;
      total += c;
    }
    start[b] = total;
    return total;
  }

  /**
   * JumpReLU's selection of pre [B, F] (jumprelu/kernel.ts forward): `act` gets the entries with
   * pi > theta, `near` those with |pi - theta| < eps inside the rectangle kernel, val = pi.
   */
  thresholdSelect(
    pre: Float32Array,
    o: { b: number; theta: Float32Array; eps: number; act: ActiveList; near?: ActiveList },
  ): void {
    const { b, theta, eps, act, near } = o;
    const f = theta.length;
    act.reset(b, f);
    near?.reset(b, f);
    const parts = even(b, this.#lanes(b * f));
    const lists = near ? [act, near] : [act];
    const args = (fill: number) => [
      this.#at(pre, b * f),
      this.#at(theta, f),
      f,
      eps,
      fill,
      ...lists.flatMap((l) => [
        this.#at(l.rowStart, b + 1, { read: fill === 1, write: fill === 0 }),
        fill ? this.#at(l.row, l.n, { read: false, write: true }) : 0,
        fill ? this.#at(l.col, l.n, { read: false, write: true }) : 0,
        fill ? this.#at(l.val, l.n, { read: false, write: true }) : 0,
      ]),
      ...(near ? [] : [0, 0, 0, 0]),
    ];
    this.#run(() => this.#gemm.run("thresholdRows", args(0), parts));
    for (const l of lists) l.setLength(this.#starts(l.rowStart, b));
    this.#run(() => this.#gemm.run("thresholdRows", args(1), parts));
  }

  /**
   * TopK's selection of pre [B, F] (lib/sae/shared/topk_family.ts selectTopK, per row): the entries >= the
   * row's k-th largest value and > 0. False when k is beyond the threads' heap space.
   */
  topkSelect(pre: Float32Array, o: { b: number; k: number; list: ActiveList }): boolean {
    const { b, k, list } = o;
    if (k > this.#gemm.scratchFloats) return false;
    const f = list.cols;
    const kth = this.#kth.length >= b ? this.#kth : (this.#kth = new Float32Array(b));
    const parts = even(b, this.#lanes(b * f));
    const args = (fill: number) => [
      this.#at(pre, b * f),
      f,
      k,
      this.#at(kth, b, { read: fill === 1, write: fill === 0 }),
      fill,
      this.#at(list.rowStart, b + 1, { read: fill === 1, write: fill === 0 }),
      fill ? this.#at(list.row, list.n, { read: false, write: true }) : 0,
      fill ? this.#at(list.col, list.n, { read: false, write: true }) : 0,
      fill ? this.#at(list.val, list.n, { read: false, write: true }) : 0,
    ];
    this.#run(() => this.#gemm.run("topkRows", args(0), parts, true));
    list.setLength(this.#starts(list.rowStart, b));
    this.#run(() => this.#gemm.run("topkRows", args(1), parts, true));
    return true;
  }
}
