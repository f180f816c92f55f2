// WGSL templates the webgpu engine composes its step from: grid-stride element-wise passes,
// two-stage sums into scalar slots, column sums of a row-major matrix, per-row passes with a
// workgroup reduction, and radix selection of the k-th largest value (per row or over a whole
// matrix). Shapes are baked in as constants. Private to lib/engine/webgpu/.
import { type Bindings, declare, groupsFor, type Program, program } from "./program.ts";
import { type Mirror, mirrorLoad, readsMirror, sharedMirror } from "./mirror.ts";
import { isSoftwareDevice } from "./adapter.ts";

/** Invocations per workgroup of the 1-D passes. */
export const WG = 256;
/** Workgroups (and so partial sums) of a two-stage sum. */
export const PARTS = 256;
/** Row chunks of a column sum. */
const CHUNKS = 64;

/**
 * Buffers a template binds, by the name its WGSL uses, in binding order (a Mirror, declared with
 * type "texture", is read through textureLoad).
 */
export type Named = Record<string, GPUBuffer | Mirror>;

/** WGSL declarations of `buffers` (in order, `types` overriding array<f32>) and their list. */
export function bind(buffers: Named, types: Record<string, string> = {}) {
  const names = Object.keys(buffers);
  return { header: declare(names, types), list: names.map((n) => buffers[n]) };
}

/**
 * One invocation per row, no workgroup memory and no barriers (what a software adapter runs
 * well): `body` runs with `row` (u32) for every row below `rows`, after the bindings' `header`
 * and any `prelude` (WGSL functions).
 */
export function perRow(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    bound: { header: string; list: Bindings };
    prelude?: string;
    body: string;
  },
): Program {
  const code = `${options.bound.header}
${options.prelude ?? ""}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  if (row >= ${options.rows}u) { return; }
${options.body}
}`;
  return program(device, {
    label: options.label,
    code,
    buffers: options.bound.list,
    groups: [Math.ceil(options.rows / 64)],
  });
}

/** `for i in [0, n)`: `body` runs with `i: u32` (grid-stride, so any n). */
export function elementwise(
  device: GPUDevice,
  options: {
    label: string;
    n: number;
    body: string;
    buffers: Named;
    types?: Record<string, string>;
    /** WGSL functions the body calls. */
    prelude?: string;
  },
): Program {
  const { header, list } = bind(options.buffers, options.types);
  const code = `${header}
${options.prelude ?? ""}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * ${WG}u;
  for (var i = gid.x; i < ${options.n}u; i += stride) {
${options.body}
  }
}`;
  return program(device, {
    label: options.label,
    code,
    buffers: list,
    groups: [groupsFor(options.n, WG, 4096)],
  });
}

/**
 * Sum over i in [0, n) of the f32 expression `value` (after `body`, with `i: u32`) into
 * part[slot * PARTS + p]; `finishSum` adds the parts into scal[slot]. The pass may also write (the
 * body can store element-wise results while it sums). On a GPU each part is a workgroup's tree
 * sum; on a software adapter (llvmpipe, where each barrier switches every 8-lane slice of the
 * workgroup) each part is one invocation's serial sum of every PARTS-th term, without barriers
 * (`serial`, default: whether the device is a software adapter).
 */
export function partialSum(
  device: GPUDevice,
  options: {
    label: string;
    n: number;
    body?: string;
    value: string;
    slot: number;
    buffers: Named;
    types?: Record<string, string>;
    serial?: boolean;
  },
): Program {
  const { header, list } = bind(options.buffers, options.types);
  if (!("part" in options.buffers)) throw new Error(`${options.label}: partialSum needs part`);
  if (options.serial ?? isSoftwareDevice(device)) {
    const code = `${header}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var s = 0.0;
  for (var i = gid.x; i < ${options.n}u; i += ${PARTS}u) {
${options.body ?? ""}
    s += ${options.value};
  }
  part[${options.slot * PARTS}u + gid.x] = s;
}`;
    return program(device, { label: options.label, code, buffers: list, groups: [PARTS / 64] });
  }
  const code = `${header}
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>) {
  var s = 0.0;
  for (var i = gid.x; i < ${options.n}u; i += ${PARTS * WG}u) {
${options.body ?? ""}
    s += ${options.value};
  }
  acc[lid.x] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w >> 1u) {
    if (lid.x < w) { acc[lid.x] += acc[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { part[${options.slot * PARTS}u + wid.x] = acc[0]; }
}`;
  return program(device, { label: options.label, code, buffers: list, groups: [PARTS] });
}

/** scal[slot] = sum of the PARTS partial sums of `slot` (one workgroup). */
export function finishSum(
  device: GPUDevice,
  options: { slot: number; part: GPUBuffer; scal: GPUBuffer },
): Program {
  const code = `${declare(["part", "scal"])}
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var j = lid.x; j < ${PARTS}u; j += ${WG}u) { s += part[${options.slot * PARTS}u + j]; }
  acc[lid.x] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w = w >> 1u) {
    if (lid.x < w) { acc[lid.x] += acc[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { scal[${options.slot}u] = acc[0]; }
}`;
  return program(device, {
    label: `finish sum ${options.slot}`,
    code,
    buffers: [options.part, options.scal],
    groups: [1],
  });
}

/** partialSum then finishSum: scal[slot] = the sum over i of `value`, as two programs. */
export function sumIntoSlot(
  device: GPUDevice,
  scal: GPUBuffer,
  options: Parameters<typeof partialSum>[1],
): Program[] {
  const part = options.buffers.part as GPUBuffer;
  return [partialSum(device, options), finishSum(device, { slot: options.slot, part, scal })];
}

/**
 * Column sums of src [rows, cols] (row-major): out[j] = `combine` of the sum (an expression in
 * `s` and `j`, e.g. `out[j] + s`), in two passes through `cpart` [CHUNKS * cols]. On a software
 * adapter the first pass reads src through a texture mirror where the shape allows (mirror.ts),
 * four columns an invocation: a vector fetch per row instead of a load per lane.
 */
export function columnSum(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    cols: number;
    src: GPUBuffer;
    out: GPUBuffer;
    cpart: GPUBuffer;
    combine?: string;
  },
): Program[] {
  const { rows, cols } = options;
  const chunks = Math.min(CHUNKS, rows);
  const per = Math.ceil(rows / chunks);
  const mirrored = readsMirror(device, rows, cols);
  const units = mirrored ? cols / 4 : cols; // columns (or vec4s of them) summed per chunk
  const first = mirrored
    ? bind({ src: sharedMirror(device, options.src, rows, cols), cpart: options.cpart }, {
      src: "texture",
      cpart: "array<vec4<f32>>",
    })
    : bind({ src: options.src, cpart: options.cpart });
  const pass1 = `${first.header}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let c = gid.y;
  if (j >= ${units}u) { return; }
  var s = ${mirrored ? "vec4<f32>(0.0)" : "0.0"};
  let r1 = min(${rows}u, (c + 1u) * ${per}u);
  for (var r = c * ${per}u; r < r1; r++) { s += ${
    mirrored ? mirrorLoad("src", "j", "r") : `src[r * ${cols}u + j]`
  }; }
  cpart[c * ${units}u + j] = s;
}`;
  const second = bind({ cpart: options.cpart, out: options.out });
  const pass2 = `${second.header}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= ${cols}u) { return; }
  var s = 0.0;
  for (var c = 0u; c < ${chunks}u; c++) { s += cpart[c * ${cols}u + j]; }
  out[j] = ${options.combine ?? "s"};
}`;
  return [
    program(device, {
      label: `${options.label} (chunks)`,
      code: pass1,
      buffers: first.list,
      groups: [Math.ceil(units / 64), chunks],
    }),
    program(device, {
      label: options.label,
      code: pass2,
      buffers: second.list,
      groups: [Math.ceil(cols / WG)],
    }),
  ];
}

/**
 * One workgroup per row r of a [rows, cols] matrix: `dot` (an f32 expression in `r`, `k`) summed
 * over k in [0, cols) into `t`, then `body` runs for every k with `t` known.
 */
export function rowPass(
  device: GPUDevice,
  options: { label: string; rows: number; cols: number; dot: string; body: string; buffers: Named },
): Program {
  const { header, list } = bind(options.buffers);
  const code = `${header}
var<workgroup> acc: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var r = wid.x; r < ${options.rows}u; r += nwg.x) {
    var s = 0.0;
    for (var k = lid.x; k < ${options.cols}u; k += ${WG}u) { s += ${options.dot}; }
    acc[lid.x] = s;
    workgroupBarrier();
    for (var w = ${WG / 2}u; w > 0u; w = w >> 1u) {
      if (lid.x < w) { acc[lid.x] += acc[lid.x + w]; }
      workgroupBarrier();
    }
    let t = acc[0];
    workgroupBarrier();
    for (var k = lid.x; k < ${options.cols}u; k += ${WG}u) {
${options.body}
    }
  }
}`;
  return program(device, {
    label: options.label,
    code,
    buffers: list,
    groups: [groupsFor(options.rows, 1, 65535)],
  });
}

/**
 * rowPass for software adapters (llvmpipe): one invocation per row, no workgroup memory and no
 * barriers (the workgroup version took ~10 ms for 512 rows of 64 there). `dot` is summed over k in
 * ascending order, then `body` runs for every k. Same contract as rowPass.
 */
export function rowPassSerial(
  device: GPUDevice,
  options: Parameters<typeof rowPass>[1],
): Program {
  return perRow(device, {
    label: options.label,
    rows: options.rows,
    bound: bind(options.buffers),
    body: `  let r = row;
  var s = 0.0;
  for (var k = 0u; k < ${options.cols}u; k++) { s += ${options.dot}; }
  let t = s;
  for (var k = 0u; k < ${options.cols}u; k++) {
${options.body}
  }`,
  });
}

/** WGSL: the order-preserving key of a value for selecting the largest positives (0 otherwise). */
const KEY_FN = `fn key(v: f32) -> u32 { if (v > 0.0) { return bitcast<u32>(v); } return 0u; }`;

/** Bindings of a row selection and the WGSL key of entry j of the row at offset o. */
function rowKthInputs(options: {
  src: GPUBuffer;
  kth: GPUBuffer;
  mask?: string;
  out?: GPUBuffer;
  extra?: Named;
}): { header: string; list: Bindings; value: string } {
  const out: Named = options.out ? { out: options.out } : {};
  const { header, list } = bind(
    { src: options.src, kth: options.kth, ...out, ...(options.extra ?? {}) },
    { kth: "array<u32>" },
  );
  const value = options.mask ? `select(0u, key(src[o + j]), ${options.mask})` : "key(src[o + j])";
  return { header, list, value };
}

/**
 * Per row of src [rows, cols]: the key (f32 bits, see KEY_FN) of the k-th largest value among
 * the entries `mask` allows (an expression in `j`, default all), counting masked-out and
 * non-positive entries as 0, into kth[row]. Radix select, 8 bits a pass, one workgroup a row.
 */
export function rowKth(
  device: GPUDevice,
  options: {
    label: string;
    rows: number;
    cols: number;
    k: number;
    src: GPUBuffer;
    kth: GPUBuffer;
    mask?: string;
    /**
     * A condition under which every row's result is 0 and nothing is counted or written (e.g.
     * no dead latents).
     */
    skip?: string;
    /**
     * Also write the row's kept entries (positive, allowed by the mask, key >= the k-th) of src
     * into out [rows, cols] and zeros elsewhere, saving a pass over the matrix.
     */
    out?: GPUBuffer;
    extra?: Named;
  },
): Program {
  const { rows, cols, k } = options;
  const { header, list, value } = rowKthInputs(options);
  if (options.skip || options.out) {
    throw new Error("rowKth: skip and out are only implemented by rowKthSerial");
  }
  const code = `${header}
${KEY_FN}
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> sel: vec2<u32>; // prefix so far, k remaining
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  for (var row = wid.x; row < ${rows}u; row += nwg.x) {
    let o = row * ${cols}u;
    if (lid.x == 0u) { sel = vec2<u32>(0u, ${k}u); }
    for (var pi = 0u; pi < 4u; pi++) {
      let shift = 24u - 8u * pi;
      atomicStore(&hist[lid.x], 0u);
      workgroupBarrier();
      let want = sel;
      workgroupBarrier();
      let high = select(0u, want.x >> (shift + 8u), pi > 0u);
      for (var j = lid.x; j < ${cols}u; j += ${WG}u) {
        let q = ${value};
        if (pi == 0u || (q >> (shift + 8u)) == high) {
          atomicAdd(&hist[(q >> shift) & 255u], 1u);
        }
      }
      workgroupBarrier();
      if (lid.x == 0u) {
        var left = want.y;
        var b = 255i;
        loop {
          let c = atomicLoad(&hist[u32(b)]);
          if (c >= left || b == 0i) { break; }
          left -= c;
          b -= 1i;
        }
        sel = vec2<u32>(want.x | (u32(b) << shift), left);
      }
      workgroupBarrier();
    }
    if (lid.x == 0u) { kth[row] = sel.x; }
    workgroupBarrier();
  }
}`;
  return program(device, {
    label: options.label,
    code,
    buffers: list,
    groups: [groupsFor(rows, 1, 65535)],
  });
}

/**
 * rowKth for software adapters (llvmpipe): one invocation per row with a private histogram, no
 * workgroup memory and no barriers (which a CPU emulates at great cost: the workgroup version
 * took ~1 s a call at 4096 x 512 on llvmpipe). Same result as rowKth; with `out` it also writes
 * the kept entries (the selection) while the row is at hand.
 */
export function rowKthSerial(
  device: GPUDevice,
  options: Parameters<typeof rowKth>[1],
): Program {
  const { rows, cols, k } = options;
  const { header, list, value } = rowKthInputs(options);
  return perRow(device, {
    label: options.label,
    rows,
    bound: { header, list },
    prelude: KEY_FN,
    body: `  ${options.skip ? `if (${options.skip}) { kth[row] = 0u; return; }` : ""}
  let o = row * ${cols}u;
  var hist: array<u32, 256>;
  var prefix = 0u;
  var left = ${k}u;
  for (var pi = 0u; pi < 4u; pi++) {
    let shift = 24u - 8u * pi;
    for (var h = 0u; h < 256u; h++) { hist[h] = 0u; }
    let high = select(0u, prefix >> (shift + 8u), pi > 0u);
    for (var j = 0u; j < ${cols}u; j++) {
      let q = ${value};
      if (pi == 0u || (q >> (shift + 8u)) == high) { hist[(q >> shift) & 255u] += 1u; }
    }
    var b = 255u;
    loop {
      let c = hist[b];
      if (c >= left || b == 0u) { break; }
      left -= c;
      b -= 1u;
    }
    prefix = prefix | (b << shift);
  }
  kth[row] = prefix;
  ${
      options.out
        ? `for (var j = 0u; j < ${cols}u; j++) {
    let q = ${value};
    out[o + j] = select(0.0, src[o + j], q > 0u && q >= prefix);
  }`
        : ""
    }`,
  });
}

/**
 * The key of the k-th largest value of all n entries of src (non-positive entries as 0) into
 * ctl[0]: four radix passes, each a counting pass over the matrix into a global histogram and a
 * one-invocation pass that picks the bucket. `ctl` is [prefix, remaining, hist[256]] as u32.
 */
export function globalKth(
  device: GPUDevice,
  options: { label: string; n: number; k: number; src: GPUBuffer; ctl: GPUBuffer },
): Program[] {
  const { n, k } = options;
  const types = { ctl: "array<atomic<u32>>" };
  const { header, list } = bind({ src: options.src, ctl: options.ctl }, types);
  const programs: Program[] = [];
  const init = `${header}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  if (lid.x == 0u) { atomicStore(&ctl[0], 0u); atomicStore(&ctl[1], ${k}u); }
  atomicStore(&ctl[2u + lid.x], 0u);
}`;
  programs.push(
    program(device, { label: `${options.label} init`, code: init, buffers: list, groups: [1] }),
  );
  for (let pass = 0; pass < 4; pass++) {
    const shift = 24 - 8 * pass;
    const count = `${header}
${KEY_FN}
var<workgroup> hist: array<atomic<u32>, 256>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  atomicStore(&hist[lid.x], 0u);
  workgroupBarrier();
  let prefix = atomicLoad(&ctl[0]);
  for (var i = gid.x; i < ${n}u; i += nwg.x * ${WG}u) {
    let q = key(src[i]);
    if (${pass === 0 ? "true" : `(q >> ${shift + 8}u) == (prefix >> ${shift + 8}u)`}) {
      atomicAdd(&hist[(q >> ${shift}u) & 255u], 1u);
    }
  }
  workgroupBarrier();
  let c = atomicLoad(&hist[lid.x]);
  if (c > 0u) { atomicAdd(&ctl[2u + lid.x], c); }
}`;
    programs.push(program(device, {
      label: `${options.label} count ${pass}`,
      code: count,
      buffers: list,
      groups: [groupsFor(n, WG, 1024)],
    }));
    const pick = `${header}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  if (lid.x == 0u) {
    var left = atomicLoad(&ctl[1]);
    var b = 255i;
    loop {
      let c = atomicLoad(&ctl[2u + u32(b)]);
      if (c >= left || b == 0i) { break; }
      left -= c;
      b -= 1i;
    }
    atomicStore(&ctl[0], atomicLoad(&ctl[0]) | (u32(b) << ${shift}u));
    atomicStore(&ctl[1], left);
  }
  workgroupBarrier();
  atomicStore(&ctl[2u + lid.x], 0u);
}`;
    programs.push(program(device, {
      label: `${options.label} pick ${pass}`,
      code: pick,
      buffers: list,
      groups: [1],
    }));
  }
  return programs;
}

export { KEY_FN };
