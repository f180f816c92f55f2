// The active entries of a batch's latent matrix [B, F] as a growable row-major (CSR) list: row,
// column, up to two values and two gradients per entry. The fast engine's sparse representation.
// Shapes: B batch, F latents, N active entries.

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
  #colStart: Int32Array = new Int32Array(1);
  #order: Int32Array = new Int32Array(1);
  #byColumnValid = false;

  constructor(capacity = 1024) {
    this.row = new Int32Array(capacity);
    this.col = new Int32Array(capacity);
    this.val = new Float32Array(capacity);
    this.val2 = new Float32Array(capacity);
    this.grad = new Float32Array(capacity);
    this.grad2 = new Float32Array(capacity);
  }

  /** Empties the list for a [rows, cols] matrix. */
  reset(rows: number, cols: number): void {
    this.rows = rows;
    this.cols = cols;
    if (this.rowStart.length < rows + 1) this.rowStart = new Int32Array(rows + 1);
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
    if (this.#colStart.length < f + 1) this.#colStart = new Int32Array(f + 1);
    if (this.#order.length < this.n) this.#order = new Int32Array(this.col.length);
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

  #grow(): void {
    const cap = this.col.length * 2;
    const grow32 = (a: Int32Array) => {
      const out = new Int32Array(cap);
      out.set(a);
      return out;
    };
    const growF = (a: Float32Array) => {
      const out = new Float32Array(cap);
      out.set(a);
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
