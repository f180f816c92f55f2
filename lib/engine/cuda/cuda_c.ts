// CUDA C templates the cuda engine composes its step from, the same shapes as the webgpu engine's
// WGSL ones (lib/engine/webgpu/wgsl.ts): grid-stride element-wise passes, two-stage sums into
// scalar slots, column sums, per-row passes with a block reduction, and radix selection of the
// k-th largest value (per row or over a whole matrix). Every reduction has a fixed order, so a
// step gives the same bits every time. Shapes are baked in as constants; kernels take only
// device pointers. Pure strings: compiling is nvrtc.ts's, launching cuda_engine.ts's.
// Private to lib/engine/cuda/.

/** Threads per block of the 1-D passes. */
export const WG = 256;
/** Blocks (and so partial sums) of a two-stage sum. */
export const PARTS = 256;
/** Row chunks of a column sum. */
const CHUNKS = 64;

/** One kernel launch: its CUDA C source (one `extern "C" __global__` function) and its grid. */
export interface CudaKernel {
  kind: "kernel";
  /** What it computes (error messages, profiles). */
  label: string;
  /** The function name inside the source (assigned when the plan is numbered). */
  name: string;
  /** CUDA C of the function, with `NAME` where its name goes. */
  source: string;
  /** Global buffer names passed as its arguments, in order. */
  args: string[];
  grid: [number, number];
  block: number;
  /** Runs only while some latent may be dead (`aux`), or only while none can be (`noAux`). */
  when?: "aux" | "noAux";
}

/** Kernel arguments by the local name the source uses -> the global buffer name. */
export type Named = Record<string, string>;

/** Declarations the kernels share (the selection key, the big sentinel). */
export const PRELUDE = `#define BIG 3.0e38f
__device__ __forceinline__ unsigned key(float v) { return v > 0.0f ? __float_as_uint(v) : 0u; }
`;

/** A CUDA C float literal (always with a point or exponent and an `f`, so it stays float). */
export function cf(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`not a finite CUDA constant: ${x}`);
  const s = Math.fround(x).toString();
  return `${/[.eE]/.test(s) ? s : `${s}.0`}f`;
}

function blocksFor(n: number, per: number, cap = 65535): number {
  return Math.max(1, Math.min(cap, Math.ceil(n / per)));
}

export function kernel(
  label: string,
  buffers: Named,
  types: Record<string, string> | undefined,
  body: string,
  launch: { grid: [number, number]; block: number },
): CudaKernel {
  const names = Object.keys(buffers);
  const params = names.map((n) => `${types?.[n] ?? "float"}* ${n}`).join(", ");
  return {
    kind: "kernel",
    label,
    name: "",
    source: `extern "C" __global__ void NAME(${params}) {\n${body}\n}`,
    args: names.map((n) => buffers[n]),
    ...launch,
  };
}

/** `for i in [0, n)`: `body` runs with `unsigned i` (grid-stride, so any n). */
export function elementwise(options: {
  label: string;
  n: number;
  body: string;
  buffers: Named;
  types?: Record<string, string>;
}): CudaKernel {
  return kernel(
    options.label,
    options.buffers,
    options.types,
    `  for (unsigned i = blockIdx.x * ${WG}u + threadIdx.x; i < ${options.n}u; i += gridDim.x * ${WG}u) {
${options.body}
  }`,
    { grid: [blocksFor(options.n, WG, 4096), 1], block: WG },
  );
}

/** Block-wide sum of `s` into acc[0] (every thread of a WG block calls it). */
const BLOCK_SUM = `  __shared__ float acc[${WG}];
  acc[threadIdx.x] = s;
  __syncthreads();
  for (unsigned w = ${WG / 2}u; w > 0u; w >>= 1) {
    if (threadIdx.x < w) acc[threadIdx.x] += acc[threadIdx.x + w];
    __syncthreads();
  }`;

/**
 * scal[slot] = the sum over i in [0, n) of `value` (after `body`, with `unsigned i`), in two
 * kernels through part[slot * PARTS + block]. The first may also write element-wise results.
 */
export function sumIntoSlot(
  scal: string,
  options: {
    label: string;
    n: number;
    body?: string;
    value: string;
    slot: number;
    buffers: Named;
    types?: Record<string, string>;
  },
): CudaKernel[] {
  const part = options.buffers.part;
  if (!part) throw new Error(`${options.label}: sumIntoSlot needs part`);
  const first = kernel(
    options.label,
    options.buffers,
    options.types,
    `  float s = 0.0f;
  for (unsigned i = blockIdx.x * ${WG}u + threadIdx.x; i < ${options.n}u; i += ${PARTS * WG}u) {
${options.body ?? ""}
    s += ${options.value};
  }
${BLOCK_SUM}
  if (threadIdx.x == 0) part[${options.slot * PARTS}u + blockIdx.x] = acc[0];`,
    { grid: [PARTS, 1], block: WG },
  );
  const finish = kernel(
    `finish sum ${options.slot}`,
    { part, scal },
    undefined,
    `  float s = 0.0f;
  for (unsigned j = threadIdx.x; j < ${PARTS}u; j += ${WG}u) s += part[${
      options.slot * PARTS
    }u + j];
${BLOCK_SUM}
  if (threadIdx.x == 0) scal[${options.slot}u] = acc[0];`,
    { grid: [1, 1], block: WG },
  );
  return [first, finish];
}

/** scal[slot] = the sum (or min) over j in [0, count) of `value` (one block). */
export function reduceIntoSlot(options: {
  label: string;
  count: number;
  value: string;
  slot: number;
  min?: boolean;
  buffers: Named;
}): CudaKernel {
  const op = options.min ? "fminf(acc[threadIdx.x], acc[threadIdx.x + w])" : "";
  return kernel(
    options.label,
    options.buffers,
    undefined,
    `  float s = ${options.min ? "BIG" : "0.0f"};
  for (unsigned j = threadIdx.x; j < ${options.count}u; j += ${WG}u) {
    ${options.min ? `s = fminf(s, ${options.value});` : `s += ${options.value};`}
  }
  __shared__ float acc[${WG}];
  acc[threadIdx.x] = s;
  __syncthreads();
  for (unsigned w = ${WG / 2}u; w > 0u; w >>= 1) {
    if (threadIdx.x < w) acc[threadIdx.x] = ${op || "acc[threadIdx.x] + acc[threadIdx.x + w]"};
    __syncthreads();
  }
  if (threadIdx.x == 0) scal[${options.slot}u] = acc[0];`,
    { grid: [1, 1], block: WG },
  );
}

/**
 * Column sums of src [rows, cols] (row-major): out[j] = `combine` of the sum (an expression in
 * `s` and `j`), in two kernels through `cpart` [CHUNKS * cols].
 */
export function columnSum(options: {
  label: string;
  rows: number;
  cols: number;
  src: string;
  out: string;
  cpart: string;
  combine?: string;
}): CudaKernel[] {
  const { rows, cols } = options;
  const chunks = Math.min(CHUNKS, rows);
  const per = Math.ceil(rows / chunks);
  return [
    kernel(
      `${options.label} (chunks)`,
      { src: options.src, cpart: options.cpart },
      undefined,
      `  unsigned j = blockIdx.x * 64u + threadIdx.x;
  unsigned c = blockIdx.y;
  if (j >= ${cols}u) return;
  float s = 0.0f;
  unsigned r1 = min(${rows}u, (c + 1u) * ${per}u);
  for (unsigned r = c * ${per}u; r < r1; r++) s += src[r * ${cols}u + j];
  cpart[c * ${cols}u + j] = s;`,
      { grid: [Math.ceil(cols / 64), chunks], block: 64 },
    ),
    kernel(
      options.label,
      { cpart: options.cpart, out: options.out },
      undefined,
      `  unsigned j = blockIdx.x * ${WG}u + threadIdx.x;
  if (j >= ${cols}u) return;
  float s = 0.0f;
  for (unsigned c = 0u; c < ${chunks}u; c++) s += cpart[c * ${cols}u + j];
  out[j] = ${options.combine ?? "s"};`,
      { grid: [Math.ceil(cols / WG), 1], block: WG },
    ),
  ];
}

/**
 * One block per row r of a [rows, cols] matrix: `dot` (a float expression in `r`, `k`) summed
 * over k in [0, cols) into `t`, then `body` runs for every k with `t` known.
 */
export function rowPass(options: {
  label: string;
  rows: number;
  cols: number;
  dot: string;
  body: string;
  buffers: Named;
}): CudaKernel {
  return kernel(
    options.label,
    options.buffers,
    undefined,
    `  __shared__ float acc[${WG}];
  for (unsigned r = blockIdx.x; r < ${options.rows}u; r += gridDim.x) {
    float s = 0.0f;
    for (unsigned k = threadIdx.x; k < ${options.cols}u; k += ${WG}u) s += ${options.dot};
    acc[threadIdx.x] = s;
    __syncthreads();
    for (unsigned w = ${WG / 2}u; w > 0u; w >>= 1) {
      if (threadIdx.x < w) acc[threadIdx.x] += acc[threadIdx.x + w];
      __syncthreads();
    }
    float t = acc[0];
    __syncthreads();
    for (unsigned k = threadIdx.x; k < ${options.cols}u; k += ${WG}u) {
${options.body}
    }
  }`,
    { grid: [blocksFor(options.rows, 1), 1], block: WG },
  );
}

/**
 * Per row of src [rows, cols]: the key (float bits, see PRELUDE) of the k-th largest value among
 * the entries `mask` allows (an expression in `j`, default all), counting masked-out and
 * non-positive entries as 0, into kth[row]. Radix select, 8 bits a pass, one block a row; `skip`
 * (a condition) gives 0 for every row without counting.
 */
export function rowKth(options: {
  label: string;
  rows: number;
  cols: number;
  k: number;
  src: string;
  kth: string;
  mask?: string;
  skip?: string;
  extra?: Named;
}): CudaKernel {
  const { rows, cols, k } = options;
  const value = options.mask ? `((${options.mask}) ? key(src[o + j]) : 0u)` : "key(src[o + j])";
  return kernel(
    options.label,
    { src: options.src, kth: options.kth, ...(options.extra ?? {}) },
    { kth: "unsigned" },
    `  __shared__ unsigned hist[256];
  __shared__ unsigned want[2]; // prefix so far, k remaining
  ${
      options.skip
        ? `if (${options.skip}) {
    for (unsigned row = blockIdx.x; row < ${rows}u; row += gridDim.x) if (threadIdx.x == 0) kth[row] = 0u;
    return;
  }`
        : ""
    }
  for (unsigned row = blockIdx.x; row < ${rows}u; row += gridDim.x) {
    unsigned o = row * ${cols}u;
    if (threadIdx.x == 0) { want[0] = 0u; want[1] = ${k}u; }
    for (unsigned pi = 0u; pi < 4u; pi++) {
      unsigned shift = 24u - 8u * pi;
      hist[threadIdx.x] = 0u;
      __syncthreads();
      unsigned high = pi > 0u ? (want[0] >> (shift + 8u)) : 0u;
      for (unsigned j = threadIdx.x; j < ${cols}u; j += ${WG}u) {
        unsigned q = ${value};
        if (pi == 0u || (q >> (shift + 8u)) == high) atomicAdd(&hist[(q >> shift) & 255u], 1u);
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        unsigned left = want[1];
        int b = 255;
        for (;;) {
          unsigned c = hist[b];
          if (c >= left || b == 0) break;
          left -= c;
          b -= 1;
        }
        want[0] |= (unsigned)b << shift;
        want[1] = left;
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) kth[row] = want[0];
    __syncthreads();
  }`,
    { grid: [blocksFor(rows, 1), 1], block: WG },
  );
}

/**
 * The key of the k-th largest of all n entries of src (non-positive entries as 0) into ctl[0]:
 * an init kernel, then per radix pass a counting kernel into a global histogram and a one-block
 * kernel that picks the bucket. `ctl` is [prefix, remaining, hist[256]] as unsigned.
 */
export function globalKth(options: {
  label: string;
  n: number;
  k: number;
  src: string;
  ctl: string;
}): CudaKernel[] {
  const { n, k } = options;
  const bufs = { src: options.src, ctl: options.ctl };
  const types = { ctl: "unsigned" };
  const out: CudaKernel[] = [kernel(
    `${options.label} init`,
    bufs,
    types,
    `  if (threadIdx.x == 0) { ctl[0] = 0u; ctl[1] = ${k}u; }
  ctl[2u + threadIdx.x] = 0u;`,
    { grid: [1, 1], block: 256 },
  )];
  for (let pass = 0; pass < 4; pass++) {
    const shift = 24 - 8 * pass;
    const match = pass === 0 ? "true" : `(q >> ${shift + 8}u) == (prefix >> ${shift + 8}u)`;
    out.push(kernel(
      `${options.label} count ${pass}`,
      bufs,
      types,
      `  __shared__ unsigned hist[256];
  hist[threadIdx.x] = 0u;
  __syncthreads();
  unsigned prefix = ctl[0];
  for (unsigned i = blockIdx.x * 256u + threadIdx.x; i < ${n}u; i += gridDim.x * 256u) {
    unsigned q = key(src[i]);
    if (${match}) atomicAdd(&hist[(q >> ${shift}u) & 255u], 1u);
  }
  __syncthreads();
  unsigned c = hist[threadIdx.x];
  if (c > 0u) atomicAdd(&ctl[2u + threadIdx.x], c);`,
      { grid: [blocksFor(n, 256, 1024), 1], block: 256 },
    ));
    out.push(kernel(
      `${options.label} pick ${pass}`,
      bufs,
      types,
      `  if (threadIdx.x == 0) {
    unsigned left = ctl[1];
    int b = 255;
    for (;;) {
      unsigned c = ctl[2 + b];
      if (c >= left || b == 0) break;
      left -= c;
      b -= 1;
    }
    ctl[0] |= (unsigned)b << ${shift}u;
    ctl[1] = left;
  }
  __syncthreads();
  ctl[2u + threadIdx.x] = 0u;`,
      { grid: [1, 1], block: 256 },
    ));
  }
  return out;
}
