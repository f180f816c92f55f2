// Where the fast engine's buffers live: plain JavaScript arrays, or views inside the WebAssembly
// module's memory (lib/engine/cpu/gemm/arena.ts) so its SIMD kernels use them without copies. An arena that
// is full (wasm32 stops at 4 GiB) hands out plain arrays instead; the kernels copy those.

export interface HostMemory {
  /** A zeroed Float32Array of n entries. */
  f32(n: number): Float32Array;
  /** A zeroed Int32Array of n entries. */
  i32(n: number): Int32Array;
  /** Gives back an array this memory handed out (plain arrays are left to the GC). */
  free(a: Float32Array | Int32Array): void;
}

export const JS_MEMORY: HostMemory = {
  f32: (n) => new Float32Array(n),
  i32: (n) => new Int32Array(n),
  free: () => {},
};

/** The arena's interface as this file uses it (kept structural: lib/engine/cpu does not import its gemm/). */
interface ArenaLike {
  f32(n: number): Float32Array | null;
  i32(n: number): Int32Array | null;
  free(view: ArrayBufferView): void;
}

/** Buffers in `arena`, or plain arrays once it is full. */
export function arenaMemory(arena: ArenaLike): HostMemory {
  return {
    f32: (n) => arena.f32(n) ?? new Float32Array(n),
    i32: (n) => arena.i32(n) ?? new Int32Array(n),
    free: (a) => arena.free(a),
  };
}
