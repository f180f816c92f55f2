// WGSL templates of the webgpu engine's sparse products, for k-sparse codes (TopK, BatchTopK,
// AuxK): a per-row selection that also lists each row's kept latents, the decode and the latent
// gradient over those lists, and the weight gradients over per-latent row lists (which the column
// pass writes, step_programs.ts). Every sum runs in a fixed order (ascending latent or row), so
// a step is deterministic. Lists have room for every entry, so no input overflows them.
// Shapes: B batch, D d_model, F latents; rows of a [B, F] list live at row * F, counts [B].
import { groupsFor, type Program, program } from "./program.ts";
import { bind, type Named, perRow } from "./wgsl.ts";

/** Per-latent row lists: chunk c of latent j holds up to `per` rows at j * B + c * per. */
export interface ColumnLists {
  /** Row indices [F * B] (u32). */
  idx: GPUBuffer;
  /** Counts per chunk and latent [chunks * F] (u32). */
  cnt: GPUBuffer;
  chunks: number;
  per: number;
}

const U32 = "array<u32>";

/** Vector width of a d-wide row: vec4 when d is a multiple of 4. */
function vec(d: number): { w: number; ty: string; zero: string } {
  return d % 4 === 0
    ? { w: 4, ty: "array<vec4<f32>>", zero: "vec4<f32>(0.0)" }
    : { w: 1, ty: "array<f32>", zero: "0.0" };
}

/**
 * Per row of src [rows, cols]: out = src where `keep` (a WGSL bool expression in `z`, `row`, `j`)
 * holds, else 0, and the kept columns in ascending order into idx [rows, cols] with their count
 * into cnt[row]. One invocation per row (no barriers).
 */
export function selectRows(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    cols: number;
    src: GPUBuffer;
    out: GPUBuffer;
    idx: GPUBuffer;
    cnt: GPUBuffer;
    keep: string;
    extra?: Named;
    types?: Record<string, string>;
    prelude?: string;
  },
): Program {
  const { rows, cols } = options;
  const bound = bind(
    { src: options.src, out: options.out, idx: options.idx, cnt: options.cnt, ...options.extra },
    { idx: U32, cnt: U32, ...options.types },
  );
  return perRow(device, {
    label: options.label,
    rows,
    bound,
    prelude: options.prelude,
    body: `  let o = row * ${cols}u;
  var n = 0u;
  for (var j = 0u; j < ${cols}u; j++) {
    let z = src[o + j];
    let keep = ${options.keep};
    out[o + j] = select(0.0, z, keep);
    if (keep) { idx[o + n] = j; n++; }
  }
  cnt[row] = n;`,
  });
}

/**
 * out [rows, d] = sum over the listed entries j of row r of val[r, j] w[j, :] (ascending j),
 * plus bias [d] when given: the decode f W_dec (+ b_dec) of a k-sparse f. One invocation per row
 * and vec4 of d.
 */
export function sparseDecode(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    cols: number;
    d: number;
    val: GPUBuffer;
    idx: GPUBuffer;
    cnt: GPUBuffer;
    w: GPUBuffer;
    out: GPUBuffer;
    bias?: GPUBuffer;
  },
): Program {
  const { rows, cols, d } = options;
  const v = vec(d);
  const dv = d / v.w;
  const buffers: Named = {
    val: options.val,
    idx: options.idx,
    cnt: options.cnt,
    w: options.w,
    out: options.out,
  };
  if (options.bias) buffers.bias = options.bias;
  const { header, list } = bind(buffers, {
    idx: U32,
    cnt: U32,
    w: v.ty,
    out: v.ty,
    bias: v.ty,
  });
  const code = `${header}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var e = gid.x; e < ${rows * dv}u; e += nwg.x * 64u) {
  let row = e / ${dv}u;
  let q = e % ${dv}u;
  let o = row * ${cols}u;
  var acc = ${v.zero};
  let n = cnt[row];
  for (var t = 0u; t < n; t++) {
    let j = idx[o + t];
    acc += val[o + j] * w[j * ${dv}u + q];
  }
  out[e] = acc${options.bias ? " + bias[q]" : ""};
  }
}`;
  return program(device, {
    label: options.label,
    code,
    buffers: list,
    groups: [groupsFor(rows * dv, 64)],
  });
}

/**
 * out[r, j] = left[r, :] . w[j, :] at the listed entries j of each row r only (other entries of
 * out keep what they held): the latent gradient dxHat W_dec^T where the code is nonzero. One
 * invocation per row.
 */
export function sparseRowDot(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    cols: number;
    d: number;
    left: GPUBuffer;
    w: GPUBuffer;
    idx: GPUBuffer;
    cnt: GPUBuffer;
    out: GPUBuffer;
  },
): Program {
  const { rows, cols, d } = options;
  const v = vec(d);
  const dv = d / v.w;
  const bound = bind(
    { left: options.left, w: options.w, idx: options.idx, cnt: options.cnt, out: options.out },
    { left: v.ty, w: v.ty, idx: U32, cnt: U32 },
  );
  const dot = v.w === 4 ? "dot(left[a + q], w[b + q])" : "left[a + q] * w[b + q]";
  return perRow(device, {
    label: options.label,
    rows,
    bound,
    body: `  let o = row * ${cols}u;
  let a = row * ${dv}u;
  let n = cnt[row];
  for (var t = 0u; t < n; t++) {
    let j = idx[o + t];
    let b = j * ${dv}u;
    var s = 0.0;
    for (var q = 0u; q < ${dv}u; q++) { s += ${dot}; }
    out[o + j] = s;
  }`,
  });
}

/**
 * Weight gradient over per-latent row lists: for latent j, sum over its listed rows r (chunks in
 * order, rows ascending) of sum over `terms` of val[r, j] mat[r, :] (val [rows, cols], mat
 * [rows, d]). `transposed` false: out [cols, d] row j (f^T dxHat into gW_dec); true: out
 * [d, cols] column j (xIn^T dpre into gW_enc). One invocation per latent and vec4 of d.
 */
export function sparseColumnProduct(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    cols: number;
    d: number;
    lists: ColumnLists;
    terms: { val: GPUBuffer; mat: GPUBuffer }[];
    out: GPUBuffer;
    transposed: boolean;
  },
): Program {
  const { rows, cols, d, lists, terms, transposed } = options;
  const v = vec(d);
  const dv = d / v.w;
  const buffers: Named = { lidx: lists.idx, lcnt: lists.cnt, out: options.out };
  const types: Record<string, string> = { lidx: U32, lcnt: U32 };
  if (!transposed) types.out = v.ty;
  terms.forEach((t, i) => {
    buffers[`val${i}`] = t.val;
    buffers[`mat${i}`] = t.mat;
    types[`mat${i}`] = v.ty;
  });
  const { header, list } = bind(buffers, types);
  const add = terms.map((_, i) => `acc += val${i}[r * ${cols}u + j] * mat${i}[r * ${dv}u + q];`)
    .join(" ");
  const store = transposed
    ? v.w === 4
      ? [..."xyzw"].map((c, i) => `out[(q * 4u + ${i}u) * ${cols}u + j] = acc.${c};`).join(" ")
      : `out[q * ${cols}u + j] = acc;`
    : `out[j * ${dv}u + q] = acc;`;
  const code = `${header}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var e = gid.x; e < ${cols * dv}u; e += nwg.x * 64u) {
  let j = e / ${dv}u;
  let q = e % ${dv}u;
  var acc = ${v.zero};
  for (var c = 0u; c < ${lists.chunks}u; c++) {
    let o = j * ${rows}u + c * ${lists.per}u;
    let n = lcnt[c * ${cols}u + j];
    for (var t = 0u; t < n; t++) {
      let r = lidx[o + t];
      ${add}
    }
  }
  ${store}
  }
}`;
  return program(device, {
    label: options.label,
    code,
    buffers: list,
    groups: [groupsFor(cols * dv, 64)],
  });
}
