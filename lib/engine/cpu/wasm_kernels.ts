// What the fast engine needs from the WebAssembly module whose kernels it runs (lib/engine/cpu/gemm/
// wasm_gemm.ts provides it): buffers inside its memory, and a way to run an export over ranges
// split across its threads. Types only, so the CPU engine does not import its gemm/ folder.

/** Allocation inside the module's memory (lib/engine/cpu/gemm/arena.ts). */
export interface WasmArena {
  /** Byte offset of `view` in the memory, or -1 when it lives elsewhere. */
  offsetOf(view: ArrayBufferView): number;
  /** Offset of a new block of at least `bytes`, or -1 when the memory cannot hold it. */
  alloc(bytes: number): number;
  release(offset: number): void;
  /** The memory's current buffer. */
  buffer(): SharedArrayBuffer;
  f32(n: number): Float32Array | null;
  i32(n: number): Int32Array | null;
  free(view: ArrayBufferView): void;
}

export interface WasmKernels {
  readonly arena: WasmArena;
  /** Floats of each thread's scratch area (what `run` with `scratch` passes). */
  readonly scratchFloats: number;
  /** Threads a job can be split over now. */
  lanes(): number;
  /**
   * Runs export `kernel(...args, start, end[, scratch])` for each [start, end) of `parts`, split
   * over the threads, and waits for all.
   */
  run(kernel: string, args: number[], parts: [number, number][], scratch?: boolean): void;
}
