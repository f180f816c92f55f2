// Products between an ActiveList (sparse [B, F]) and dense row-major matrices: decoding, dot
// products at the active entries, and weight-gradient accumulation. Each runs as a sparse loop,
// or, when the list is dense enough that a BLAS GEMM is cheaper, as a GEMM on a scattered copy.
// Shapes: B batch, D d_model, F latents, N active entries.
import type { Blas } from "./blas.ts";
import type { ActiveList, BackwardOperands } from "./active.ts";
import type { WasmSparse } from "./wasm_sparse.ts";
import { axpy, dot } from "./vec.ts";

export interface ActiveOpsOptions {
  /** Density of the active list above which the dense GEMM path is used (Infinity: never). */
  denseAbove: number;
  /** WebAssembly SIMD kernels for the sparse loops (absent: the TypeScript loops below). */
  sparse?: WasmSparse;
}

export class ActiveOps {
  readonly #blas: Blas;
  readonly #denseAbove: number;
  readonly #sparse: WasmSparse | undefined;
  #scratch = new Float32Array(0);
  /** Products that took the dense path / all products, since construction (for benchmarks). */
  denseCalls = 0;
  calls = 0;

  constructor(blas: Blas, options: ActiveOpsOptions) {
    this.#blas = blas;
    this.#denseAbove = options.denseAbove;
    this.#sparse = options.sparse;
  }

  /** The WebAssembly kernels, when the engine has them (selection hooks use them too). */
  get wasm(): WasmSparse | undefined {
    return this.#sparse;
  }

  #dense(list: ActiveList): boolean {
    this.calls++;
    const dense = list.density() > this.#denseAbove;
    if (dense) this.denseCalls++;
    return dense;
  }

  /** Zeroed [B, F] scratch holding coef scattered at the list's entries. */
  #scatter(list: ActiveList, coef: Float32Array): Float32Array {
    const size = list.rows * list.cols;
    if (this.#scratch.length < size) this.#scratch = new Float32Array(size);
    const s = this.#scratch.subarray(0, size);
    s.fill(0);
    const { row, col } = list;
    const f = list.cols;
    for (let j = 0; j < list.n; j++) s[row[j] * f + col[j]] = coef[j];
    return s;
  }

  /** out [B, D] = bias [D] (or 0) + sum over entries of coef * w[col, :], w [F, D]. */
  decode(
    list: ActiveList,
    coef: Float32Array,
    options: { w: Float32Array; d: number; out: Float32Array; bias?: Float32Array },
  ): void {
    const { w, d, out, bias } = options;
    const b = list.rows;
    const dense = this.#dense(list);
    if (this.#sparse && !dense) return this.#sparse.decode(list, coef, options);
    for (let r = 0; r < b; r++) {
      if (bias) out.set(bias, r * d);
      else out.fill(0, r * d, (r + 1) * d);
    }
    if (dense) {
      const s = this.#scatter(list, coef);
      this.#blas.sgemm(s, w, { c: out, m: b, n: d, k: list.cols, beta: 1 });
      return;
    }
    const { rowStart, col } = list;
    for (let r = 0; r < b; r++) {
      const o = r * d;
      for (let j = rowStart[r]; j < rowStart[r + 1]; j++) axpy(coef[j], w, col[j] * d, out, o, d);
    }
  }

  /** out[j] = a[row_j, :] . w[col_j, :] for every entry; a [B, D], w [F, D]. */
  dots(
    list: ActiveList,
    options: { a: Float32Array; w: Float32Array; d: number; out: Float32Array },
  ) {
    const { a, w, d, out } = options;
    const { row, col } = list;
    if (this.#dense(list)) {
      const size = list.rows * list.cols;
      if (this.#scratch.length < size) this.#scratch = new Float32Array(size);
      const s = this.#scratch;
      this.#blas.sgemm(a, w, { c: s, m: list.rows, n: list.cols, k: d, transB: true });
      const f = list.cols;
      for (let j = 0; j < list.n; j++) out[j] = s[row[j] * f + col[j]];
      return;
    }
    if (this.#sparse) return this.#sparse.dots(list, options);
    for (let j = 0; j < list.n; j++) out[j] = dot(a, row[j] * d, w, col[j] * d, d);
  }

  /** g[col_j, :] += coef[j] * src[row_j, :] for every entry; src [B, D], g [F, D]. */
  accumulate(
    list: ActiveList,
    coef: Float32Array,
    options: { src: Float32Array; g: Float32Array; d: number },
  ): void {
    const { src, g, d } = options;
    if (this.#dense(list)) {
      const s = this.#scatter(list, coef);
      this.#blas.sgemm(s, src, {
        c: g,
        m: list.cols,
        n: d,
        k: list.rows,
        transA: true,
        beta: 1,
      });
      return;
    }
    if (this.#sparse) return this.#sparse.accumulate(list, coef, options);
    const { colStart, order } = list.byColumn();
    const { row } = list;
    for (let i = 0; i < list.cols; i++) {
      const end = colStart[i + 1];
      const go = i * d;
      for (let p = colStart[i]; p < end; p++) {
        const j = order[p];
        axpy(coef[j], src, row[j] * d, g, go, d);
      }
    }
  }

  /**
   * The fused backward pass of a decoder-encoder pair over one list, per entry j = (b, i):
   * grad[j] = dy[b, :] . w[i, :] + (add?.[i] ?? 0); gW[i, :] += val[j] dy[b, :];
   * gSrc[i, :] += grad[j] src[b, :]. Sparse: one pass grouped by latent, each entry's dy and src
   * rows read once while the latent's rows of w, gW and gSrc stay in cache.
   */
  backward(list: ActiveList, options: BackwardOperands): void {
    const { dy, w, gW, src, gSrc, d, add } = options;
    if (list.density() > this.#denseAbove) {
      this.accumulate(list, list.val, { src: dy, g: gW, d });
      this.dots(list, { a: dy, w, d, out: list.grad });
      if (add) { for (let j = 0; j < list.n; j++) list.grad[j] += add[list.col[j]]; }
      this.accumulate(list, list.grad, { src, g: gSrc, d });
      return;
    }
    this.calls += 3;
    if (this.#sparse) return this.#sparse.backward(list, options);
    const { colStart, order } = list.byColumn();
    const { row, val, grad } = list;
    for (let i = 0; i < list.cols; i++) {
      const end = colStart[i + 1];
      const io = i * d;
      const a = add ? add[i] : 0;
      for (let p = colStart[i]; p < end; p++) {
        const j = order[p];
        const bo = row[j] * d;
        const g = dot(dy, bo, w, io, d) + a;
        grad[j] = g;
        axpy(val[j], dy, bo, gW, io, d);
        axpy(g, src, bo, gSrc, io, d);
      }
    }
  }
}
