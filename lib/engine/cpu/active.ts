// The active entries of a batch's latent matrix [B, F] as a growable row-major (CSR) list: row,
// column, up to two values and two gradients per entry. The fast engine's sparse representation.
// Shapes: B batch, F latents, N active entries.
import { type HostMemory, JS_MEMORY } from "./host_memory.ts";

export class ActiveList {
  /** Rows B and latents F of the matrix this list describes. */
  rows = 0;
  cols = 0;
  /** Entries of row b are [rowStart[b], rowStart[b + 1]). */
  rowStart: Int32Array = new Int32Array(1);
  row: Int32Array;
  col: Int32Array;
  /** Primary value (usually the latent activation) [N]. */
  val: Float32Array;
  /** Secondary value (architecture-specific: gate pre-activation, raw GEMM output) [N]. */
  val2: Float32Array;
  /** Gradients at the entries [N]. */
  grad: Float32Array;
  grad2: Float32Array;
  /** Number of entries. */
  n = 0;
  #colStart: Int32Array;
  #order: Int32Array;
  #byColumnValid = false;
  readonly #memory: HostMemory;

  /** `memory` holds the arrays (the wasm kernels read lists in their memory without copies). */
  constructor(capacity = 1024, memory: HostMemory = JS_MEMORY) {
    this.#memory = memory;
    this.rowStart = memory.i32(1);
    this.#colStart = memory.i32(1);
    this.#order = memory.i32(1);
    this.row = memory.i32(capacity);
    this.col = memory.i32(capacity);
    this.val = memory.f32(capacity);
    this.val2 = memory.f32(capacity);
    this.grad = memory.f32(capacity);
    this.grad2 = memory.f32(capacity);
  }

  /** Empties the list for a [rows, cols] matrix. */
  reset(rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
    if (this.rowStart.length < rows + 1) {
      this.#memory.free(this.rowStart);
      this.rowStart = this.#memory.i32(rows + 1);
    }
    this.n = 0;
    this.#byColumnValid = false;
  }

  /** Marks the start of row b (call for b = 0..rows-1 in order, then `finish`). */
  startRow(b: number): void {
    this.rowStart[b] = this.n;
  }

  finish(): void {
    this.rowStart[this.rows] = this.n;
  }

  /** Appends an entry of the current row; returns its index. */
  push(b: number, i: number, value: number, value2 = 0): number {
    if (this.n === this.col.length) this.#grow();
    const j = this.n++;
    this.row[j] = b;
    this.col[j] = i;
    this.val[j] = value;
    this.val2[j] = value2;
    return j;
  }

  /**
   * Sets the number of entries to n (growing the arrays; rowStart is kept), for code that fills
   * the arrays directly after writing rowStart.
   */
  setLength(n: number): void {
    while (this.col.length < n) this.#grow();
    this.n = n;
    this.#byColumnValid = false;
  }

  /** Fraction of the [rows, cols] matrix that is active. */
  density(): number {
    return this.rows * this.cols === 0 ? 0 : this.n / (this.rows * this.cols);
  }

  /**
   * The entries grouped by column (a counting sort, cached until the next reset): the entries of
   * latent i are order[colStart[i] .. colStart[i + 1]).
   */
  byColumn(): { colStart: Int32Array; order: Int32Array } {
    if (this.#byColumnValid) return { colStart: this.#colStart, order: this.#order };
    const f = this.cols;
    if (this.#colStart.length < f + 1) {
      this.#memory.free(this.#colStart);
      this.#colStart = this.#memory.i32(f + 1);
    }
    if (this.#order.length < this.n) {
      this.#memory.free(this.#order);
      this.#order = this.#memory.i32(this.col.length);
    }
    const start = this.#colStart;
    const order = this.#order;
    const col = this.col;
    start.fill(0, 0, f + 1);
    for (let j = 0; j < this.n; j++) start[col[j] + 1]++;
    for (let i = 0; i < f; i++) start[i + 1] += start[i];
    const next = start.slice(0, f);
    for (let j = 0; j < this.n; j++) order[next[col[j]]++] = j;
    this.#byColumnValid = true;
    return { colStart: start, order };
  }

  /** Gives the arrays back to their memory; the list is unusable afterwards. */
  dispose(): void {
    for (const a of this.#arrays()) this.#memory.free(a);
  }

  #arrays(): (Int32Array | Float32Array)[] {
    return [
      this.rowStart,
      this.#colStart,
      this.#order,
      this.row,
      this.col,
      this.val,
      this.val2,
      this.grad,
      this.grad2,
    ];
  }

  #grow(): void {
    const cap = this.col.length * 2;
    const grow32 = (a: Int32Array) => {
      const out = this.#memory.i32(cap);
      out.set(a);
      this.#memory.free(a);
      return out;
    };
    const growF = (a: Float32Array) => {
      const out = this.#memory.f32(cap);
      out.set(a);
      this.#memory.free(a);
      return out;
    };
    this.row = grow32(this.row);
    this.col = grow32(this.col);
    this.val = growF(this.val);
    this.val2 = growF(this.val2);
    this.grad = growF(this.grad);
    this.grad2 = growF(this.grad2);
  }
}

/** The operands of the fused decoder-encoder backward (ActiveOps.backward). */
export interface BackwardOperands {
  dy: Float32Array;
  w: Float32Array;
  gW: Float32Array;
  src: Float32Array;
  gSrc: Float32Array;
  d: number;
  add?: Float32Array;
}
