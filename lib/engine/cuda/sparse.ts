// CUDA C templates of the cuda engine's sparse products, for k-sparse codes (TopK, BatchTopK,
// AuxK; the rule is lib/engine/sparse_plan.ts): a per-row selection that also lists each row's
// kept latents, the decode and the latent gradient over those lists, the per-latent row lists
// (which the column pass writes, step_plan.ts) and the weight gradients over them. As the webgpu
// engine's (webgpu/sparse.ts), every sum runs in a fixed order (ascending latent or row), so a
// step gives the same bits every time; lists have room for every entry, so no input overflows
// them. Only shared memory and __syncthreads, no warp intrinsics or atomics.
// Shapes: B batch, D d_model, F latents; rows of a [B, F] list live at row * F, counts [B].
import { type CudaKernel, kernel, type Named } from "./cuda_c.ts";

/** Per-latent row lists: chunk c of latent j holds up to `per` rows at j * B + c * per. */
export interface ColumnLists {
  /** Row indices [F * B] (unsigned). */
  idx: string;
  /** Counts per chunk and latent [chunks * F] (unsigned). */
  cnt: string;
  chunks: number;
  per: number;
}

/** Threads of a block that takes one row at a time. */
const ROW_THREADS = 128;
/** Warps of the row dot's block: each takes one listed entry, its lanes over d. */
const DOT_WARPS = 8;

/** Blocks for one block per row (grid-stride beyond the grid's limit). */
function rowBlocks(rows: number): [number, number] {
  return [Math.max(1, Math.min(65535, rows)), 1];
}

/**
 * Per row of src [rows, cols]: out = src where `keep` (a CUDA C bool expression in `z`, `row`,
 * `j`) holds, else 0, and the kept columns in ascending order into idx [rows, cols] with their
 * count into cnt[row]. A block per row: each thread takes a contiguous segment of the columns,
 * counts what it keeps, and after a scan of the counts (thread 0, in order) writes its part of
 * the list.
 */
export function selectRows(options: {
  label: string;
  rows: number;
  cols: number;
  src: string;
  out: string;
  idx: string;
  cnt: string;
  keep: string;
  extra?: Named;
  types?: Record<string, string>;
}): CudaKernel {
  const { rows, cols } = options;
  const seg = Math.ceil(cols / ROW_THREADS);
  return kernel(
    options.label,
    { src: options.src, out: options.out, idx: options.idx, cnt: options.cnt, ...options.extra },
    { idx: "unsigned", cnt: "unsigned", ...options.types },
    `  __shared__ unsigned start[${ROW_THREADS + 1}];
  unsigned j0 = threadIdx.x * ${seg}u;
  unsigned j1 = min(${cols}u, j0 + ${seg}u);
  for (unsigned row = blockIdx.x; row < ${rows}u; row += gridDim.x) {
    unsigned o = row * ${cols}u;
    unsigned n = 0u;
    for (unsigned j = j0; j < j1; j++) {
      float z = src[o + j];
      bool keep = ${options.keep};
      out[o + j] = keep ? z : 0.0f;
      if (keep) n++;
    }
    start[threadIdx.x + 1u] = n;
    __syncthreads();
    if (threadIdx.x == 0u) {
      start[0] = 0u;
      for (unsigned t = 1u; t <= ${ROW_THREADS}u; t++) start[t] += start[t - 1u];
      cnt[row] = start[${ROW_THREADS}];
    }
    __syncthreads();
    unsigned at = o + start[threadIdx.x];
    for (unsigned j = j0; j < j1; j++) {
      float z = src[o + j];
      if (${options.keep}) idx[at++] = j;
    }
    __syncthreads();
  }`,
    { grid: rowBlocks(rows), block: ROW_THREADS },
  );
}

/**
 * out [rows, d] = sum over the listed entries j of row r of val[r, j] w[j, :] (ascending j),
 * plus bias [d] when given: the decode f W_dec (+ b_dec) of a k-sparse f. A block per row, its
 * threads over d (coalesced rows of w).
 */
export function sparseDecode(options: {
  label: string;
  rows: number;
  cols: number;
  d: number;
  val: string;
  idx: string;
  cnt: string;
  w: string;
  out: string;
  bias?: string;
}): CudaKernel {
  const { rows, cols, d } = options;
  const buffers: Named = {
    val: options.val,
    idx: options.idx,
    cnt: options.cnt,
    w: options.w,
    out: options.out,
  };
  if (options.bias) buffers.bias = options.bias;
  return kernel(
    options.label,
    buffers,
    { idx: "unsigned", cnt: "unsigned" },
    `  for (unsigned row = blockIdx.x; row < ${rows}u; row += gridDim.x) {
    unsigned o = row * ${cols}u;
    unsigned n = cnt[row];
    for (unsigned q = threadIdx.x; q < ${d}u; q += ${ROW_THREADS}u) {
      float acc = 0.0f;
      for (unsigned t = 0u; t < n; t++) {
        unsigned j = idx[o + t];
        acc += val[o + j] * w[j * ${d}u + q];
      }
      out[row * ${d}u + q] = acc${options.bias ? " + bias[q]" : ""};
    }
  }`,
    { grid: rowBlocks(rows), block: ROW_THREADS },
  );
}

/**
 * out[r, j] = left[r, :] . w[j, :] at the listed entries j of each row r only (other entries of
 * out keep what they held): the latent gradient dxHat W_dec^T where the code is nonzero. A block
 * per row; each warp takes one listed entry at a time, its 32 lanes strided over d, then a tree
 * sum in shared memory (the same order every time).
 */
export function sparseRowDot(options: {
  label: string;
  rows: number;
  cols: number;
  d: number;
  left: string;
  w: string;
  idx: string;
  cnt: string;
  out: string;
}): CudaKernel {
  const { rows, cols, d } = options;
  return kernel(
    options.label,
    { left: options.left, w: options.w, idx: options.idx, cnt: options.cnt, out: options.out },
    { idx: "unsigned", cnt: "unsigned" },
    `  __shared__ float part[${DOT_WARPS * 32}];
  unsigned lane = threadIdx.x % 32u;
  unsigned warp = threadIdx.x / 32u;
  __syncthreads(); // every block meets a barrier, even one whose rows list nothing
  for (unsigned row = blockIdx.x; row < ${rows}u; row += gridDim.x) {
    unsigned o = row * ${cols}u;
    unsigned n = cnt[row];
    for (unsigned t0 = 0u; t0 < n; t0 += ${DOT_WARPS}u) {
      unsigned t = t0 + warp;
      unsigned j = t < n ? idx[o + t] : 0u;
      float s = 0.0f;
      if (t < n) {
        for (unsigned q = lane; q < ${d}u; q += 32u) s += left[row * ${d}u + q] * w[j * ${d}u + q];
      }
      part[threadIdx.x] = s;
      __syncthreads();
      for (unsigned h = 16u; h > 0u; h >>= 1) {
        if (lane < h) part[threadIdx.x] += part[threadIdx.x + h];
        __syncthreads();
      }
      if (lane == 0u && t < n) out[o + j] = part[threadIdx.x];
      __syncthreads();
    }
  }`,
    { grid: rowBlocks(rows), block: DOT_WARPS * 32 },
  );
}

/**
 * Per latent j and row chunk c (the column pass's grid and order): the rows of the chunk where
 * `listed` (a CUDA C bool expression in `i`, the entry r * cols + j) holds, ascending, into the
 * per-latent lists. The column pass writes them itself; this rewrites them where AuxK's latents
 * add rows after it.
 */
export function columnLists(options: {
  label: string;
  rows: number;
  cols: number;
  lists: ColumnLists;
  listed: string;
  buffers: Named;
}): CudaKernel {
  const { rows, cols, lists } = options;
  return kernel(
    options.label,
    { lidx: lists.idx, lcnt: lists.cnt, ...options.buffers },
    { lidx: "unsigned", lcnt: "unsigned" },
    `  unsigned j = blockIdx.x * 64u + threadIdx.x;
  unsigned c = blockIdx.y;
  if (j >= ${cols}u) return;
  unsigned n = 0u;
  unsigned r1 = min(${rows}u, (c + 1u) * ${lists.per}u);
  for (unsigned r = c * ${lists.per}u; r < r1; r++) {
    unsigned i = r * ${cols}u + j;
    if (${options.listed}) { lidx[j * ${rows}u + c * ${lists.per}u + n] = r; n++; }
  }
  lcnt[c * ${cols}u + j] = n;`,
    { grid: [Math.ceil(cols / 64), lists.chunks], block: 64 },
  );
}

/**
 * Weight gradient over per-latent row lists: for latent j, sum over its listed rows r (chunks in
 * order, rows ascending) of sum over `terms` of val[r, j] mat[r, :] (val [rows, cols], mat
 * [rows, d]). `transposed` false: out [cols, d] row j (f^T dxHat into gW_dec); true: out
 * [d, cols] column j (xIn^T dpre into gW_enc). A block per latent (grid-stride), its threads over
 * the columns of d (coalesced rows of mat).
 */
export function sparseColumnProduct(options: {
  label: string;
  rows: number;
  cols: number;
  d: number;
  lists: ColumnLists;
  terms: { val: string; mat: string }[];
  out: string;
  transposed: boolean;
}): CudaKernel {
  const { rows, cols, d, lists, terms, transposed } = options;
  const buffers: Named = { lidx: lists.idx, lcnt: lists.cnt, out: options.out };
  terms.forEach((t, i) => {
    buffers[`val${i}`] = t.val;
    buffers[`mat${i}`] = t.mat;
  });
  const add = terms.map((_, i) => `acc += val${i}[r * ${cols}u + j] * mat${i}[r * ${d}u + q];`)
    .join(" ");
  const store = transposed ? `out[q * ${cols}u + j] = acc;` : `out[j * ${d}u + q] = acc;`;
  return kernel(
    options.label,
    buffers,
    { lidx: "unsigned", lcnt: "unsigned" },
    `  for (unsigned j = blockIdx.x; j < ${cols}u; j += gridDim.x) {
    for (unsigned q = threadIdx.x; q < ${d}u; q += ${ROW_THREADS}u) {
      float acc = 0.0f;
      for (unsigned c = 0u; c < ${lists.chunks}u; c++) {
        unsigned o = j * ${rows}u + c * ${lists.per}u;
        unsigned n = lcnt[c * ${cols}u + j];
        for (unsigned t = 0u; t < n; t++) {
          unsigned r = lidx[o + t];
          ${add}
        }
      }
      ${store}
    }
  }`,
    { grid: rowBlocks(cols), block: ROW_THREADS },
  );
}
