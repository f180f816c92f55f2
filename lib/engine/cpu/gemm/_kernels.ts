// The exports of sgemm.wasm that the helper threads run, by number (the job's kernel id), and the
// layout of one thread's control block in the shared control buffer. Private to lib/engine/cpu/gemm/.

export const KERNELS = [
  "sgemm",
  "sparseDecode",
  "sparseDots",
  "sparseAccumulate",
  "sparseBackward",
  "adam",
  "projectRows",
  "normalizeRows",
  "thresholdRows",
  "topkRows",
] as const;

export type KernelName = typeof KERNELS[number];

/** Bytes of one helper's control block: 16 int32 fields, then float64 arguments. */
export const SLOT_BYTES = 256;
/** Int32 fields: job sequence, done sequence (-1: ready), kernel id, argument count, failed. */
export const JOB = 0;
export const DONE = 1;
export const KERNEL = 2;
export const ARGC = 3;
export const FAILED = 4;
/** Float64 arguments start at this byte of the block (room for 24). */
export const ARGS_AT = 64;
export const MAX_ARGS = (SLOT_BYTES - ARGS_AT) / 8;
