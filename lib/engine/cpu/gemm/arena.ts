// Float32Array / Int32Array views allocated inside a shared WebAssembly memory, so the wasm
// kernels (GEMM and sparse products) read and write the engine's buffers in place instead of
// copying them in and out on every call. First-fit free list; main thread only.

const ALIGN = 64;
const PAGE = 65536;

function up(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

export class Arena {
  readonly #memory: WebAssembly.Memory;
  readonly #maxBytes: number;
  /** Every SharedArrayBuffer object this memory has handed out (one per size after a grow). */
  readonly #buffers = new WeakSet<ArrayBufferLike>();
  /** Allocated blocks: offset -> bytes. */
  readonly #used = new Map<number, number>();
  /** Free blocks below #top, sorted by offset. */
  #free: { offset: number; bytes: number }[] = [];
  #top: number;

  /** Allocates from byte `base` upwards, growing `memory` up to `maxBytes`. */
  constructor(memory: WebAssembly.Memory, options: { base: number; maxBytes: number }) {
    this.#memory = memory;
    this.#maxBytes = options.maxBytes;
    this.#top = up(options.base);
  }

  /** The memory's current buffer (recorded, so views on it count as resident). */
  buffer(): SharedArrayBuffer {
    const buf = this.#memory.buffer as unknown as SharedArrayBuffer;
    this.#buffers.add(buf);
    return buf;
  }

  /** Byte offset of `view` in the memory, or -1 when it lives elsewhere. */
  offsetOf(view: ArrayBufferView): number {
    return this.#buffers.has(view.buffer) ? view.byteOffset : -1;
  }

  /** Bytes reserved (allocated or free below the top). */
  get bytes(): number {
    return this.#top;
  }

  /** Offset of a new block of at least `bytes`, or -1 when the memory cannot hold it. */
  alloc(bytes: number): number {
    const size = up(Math.max(bytes, 1));
    for (let i = 0; i < this.#free.length; i++) {
      const blk = this.#free[i];
      if (blk.bytes < size) continue;
      const offset = blk.offset;
      if (blk.bytes === size) this.#free.splice(i, 1);
      else {
        blk.offset += size;
        blk.bytes -= size;
      }
      this.#used.set(offset, size);
      return offset;
    }
    const offset = this.#top;
    const end = offset + size;
    if (end > this.#maxBytes) return -1;
    const have = this.#memory.buffer.byteLength;
    if (end > have) {
      try {
        this.#memory.grow(Math.ceil((end - have) / PAGE));
      } catch {
        return -1;
      }
    }
    this.#top = end;
    this.#used.set(offset, size);
    return offset;
  }

  /** Returns the block at `offset` to the free list (merging neighbours). */
  release(offset: number): void {
    const bytes = this.#used.get(offset);
    if (bytes === undefined) return;
    this.#used.delete(offset);
    const free = this.#free;
    let i = 0;
    while (i < free.length && free[i].offset < offset) i++;
    free.splice(i, 0, { offset, bytes });
    if (i + 1 < free.length && offset + bytes === free[i + 1].offset) {
      free[i].bytes += free[i + 1].bytes;
      free.splice(i + 1, 1);
    }
    if (i > 0 && free[i - 1].offset + free[i - 1].bytes === offset) {
      free[i - 1].bytes += free[i].bytes;
      free.splice(i, 1);
      i--;
    }
    // A free block at the top shrinks the reserved region instead.
    const last = free[free.length - 1];
    if (last && last.offset + last.bytes === this.#top) {
      this.#top = last.offset;
      free.pop();
    }
  }

  /** A zeroed Float32Array of n entries in the memory, or null when it does not fit. */
  f32(n: number): Float32Array | null {
    const offset = this.alloc(n * 4);
    if (offset < 0) return null;
    const a = new Float32Array(this.buffer(), offset, n);
    a.fill(0);
    return a;
  }

  /** A zeroed Int32Array of n entries in the memory, or null when it does not fit. */
  i32(n: number): Int32Array | null {
    const offset = this.alloc(n * 4);
    if (offset < 0) return null;
    const a = new Int32Array(this.buffer(), offset, n);
    a.fill(0);
    return a;
  }

  /** Frees a view this arena allocated (others are ignored). */
  free(view: ArrayBufferView): void {
    const offset = this.offsetOf(view);
    if (offset >= 0) this.release(offset);
  }
}
