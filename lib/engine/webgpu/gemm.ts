// Dense float32 GEMM for the webgpu engine: C = alpha * op(A) op(B) (+ C) (+ bias), row-major, one
// WGSL kernel per shape and transpose generated from one template. Buffers and passes are the
// caller's; this file only builds pipelines, caches bind groups and records dispatches.
//
// Kernel: each workgroup computes a BM x BN tile of C (BM = wy * tm, BN = wx * tn). Per K-tile of
// depth tk, A's BM x tk block and B's tk x BN block are staged in workgroup memory (k-major, so the
// inner loop reads both along m and n), then each invocation accumulates its tm x tn outputs in
// registers. Columns of an invocation come in vec4 chunks strided by 4 * wx, its rows are
// consecutive. Bounds checks are generated only for the dimensions that do not divide the tile.

export interface GemmOptions {
  m: number;
  n: number;
  k: number;
  /** A is stored [k, m] (use A^T) instead of [m, k]. */
  transA?: boolean;
  /** B is stored [n, k] (use B^T) instead of [k, n]. */
  transB?: boolean;
  /** C = alpha * op(A) op(B) (+ beta * C) (+ bias); default 1. */
  alpha?: number;
  /** 0 (default): overwrite C; 1: accumulate into C. */
  beta?: 0 | 1;
  /** Add bias[n] (a buffer) to every row of the product. */
  bias?: boolean;
}

export interface GemmBuffers {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
}

export interface GemmKernel {
  /** Records the product into a compute pass (bind groups cached per buffer set; no allocation per call after the first). */
  encode(pass: GPUComputePassEncoder, buffers: GemmBuffers): void;
  /** 2 m n k. */
  readonly flops: number;
}

/** Work split of one kernel; BM = wy * tm rows and BN = wx * tn columns of C per workgroup. */
export interface GemmTile {
  /** Invocations along n and along m. */
  wx: number;
  wy: number;
  /** Outputs per invocation along m and along n (tn a multiple of 4). */
  tm: number;
  tn: number;
  /** Depth of the K-tile staged in workgroup memory. */
  tk: number;
}

/** Tiles tried, best first; the first that fits the device's limits and the shape is used. */
export const GEMM_TILES: readonly GemmTile[] = [
  { wx: 16, wy: 16, tm: 4, tn: 4, tk: 16 }, // 64 x 64
  { wx: 8, wy: 8, tm: 4, tn: 4, tk: 16 }, // 32 x 32
];

/** Whether `tile` is well formed and fits the device's workgroup limits. */
export function tileFits(tile: GemmTile, limits: GPUSupportedLimits): boolean {
  const { wx, wy, tm, tn, tk } = tile;
  const threads = wx * wy;
  const bm = wy * tm, bn = wx * tn;
  const shared = 4 * tk * (bm + bn);
  return tn % 4 === 0 && tm >= 1 && (bm * tk) % threads === 0 && (bn * tk) % threads === 0 &&
    threads <= limits.maxComputeInvocationsPerWorkgroup &&
    wx <= limits.maxComputeWorkgroupSizeX && wy <= limits.maxComputeWorkgroupSizeY &&
    shared <= limits.maxComputeWorkgroupStorageSize;
}

/** The tile createGemm uses on `device` for `options`. */
export function chooseTile(limits: GPUSupportedLimits, _options: GemmOptions): GemmTile {
  const tile = GEMM_TILES.find((t) => tileFits(t, limits));
  if (!tile) throw new Error("gemm: no tile fits this device's workgroup limits");
  return tile;
}

function checkOptions(o: GemmOptions): void {
  for (const d of ["m", "n", "k"] as const) {
    if (!Number.isInteger(o[d]) || o[d] < 1) {
      throw new RangeError(`gemm: ${d} must be a positive integer, got ${o[d]}`);
    }
  }
  if (o.alpha !== undefined && !Number.isFinite(o.alpha)) {
    throw new RangeError(`gemm: alpha must be finite, got ${o.alpha}`);
  }
  if (o.beta !== undefined && o.beta !== 0 && o.beta !== 1) {
    throw new RangeError(`gemm: beta must be 0 or 1, got ${o.beta}`);
  }
}

/** A float as a WGSL f32 literal that round-trips. */
function f32(x: number): string {
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * WGSL that stages one operand's K-tile into workgroup memory. `rows` is the tile's extent along
 * m (or n), stored k-major as `shared[kk * rows + r]`. `kFast` says the operand is stored with k
 * contiguous ([m, k] for A, [n, k] for B^T); otherwise the m/n index is contiguous.
 */
function stageTile(
  src: string,
  store: (index: string, value: string) => string,
  o: { rows: number; tk: number; threads: number; kFast: boolean; ld: number },
  o2: { r0: string; extent: number; checkR: boolean; checkK: boolean; k: number },
): string {
  const count = (o.rows * o.tk) / o.threads;
  const fast = o.kFast ? o.tk : o.rows;
  const lines: string[] = [];
  for (let l = 0; l < count; l++) {
    const e = `${l * o.threads}u + lid`;
    const f = `(${e}) % ${fast}u`, s = `(${e}) / ${fast}u`;
    const kk = o.kFast ? f : s, rr = o.kFast ? s : f;
    const conds: string[] = [];
    lines.push(`  {`);
    lines.push(`    let kk = ${kk}; let rr = ${rr};`);
    lines.push(`    let gr = ${o2.r0} + rr; let gk = k0 + kk;`);
    if (o2.checkR) conds.push(`gr < ${o2.extent}u`);
    if (o2.checkK) conds.push(`gk < ${o2.k}u`);
    const idx = o.kFast ? `gr * ${o.ld}u + gk` : `gk * ${o.ld}u + gr`;
    if (conds.length) {
      lines.push(`    let ok = ${conds.join(" && ")};`);
      lines.push(`    let v = ${src}[select(0u, ${idx}, ok)];`);
      lines.push(`    ${store(`kk * ${o.rows}u + rr`, "select(0.0, v, ok)")}`);
    } else {
      lines.push(`    ${store(`kk * ${o.rows}u + rr`, `${src}[${idx}]`)}`);
    }
    lines.push(`  }`);
  }
  return lines.join("\n");
}

/** The WGSL of one GEMM kernel (exported for tests and inspection). */
export function gemmWgsl(options: GemmOptions, tile: GemmTile): string {
  const { m, n, k } = options;
  const transA = options.transA ?? false, transB = options.transB ?? false;
  const alpha = options.alpha ?? 1, beta = options.beta ?? 0, bias = options.bias ?? false;
  const { wx, wy, tm, tn, tk } = tile;
  const threads = wx * wy, bm = wy * tm, bn = wx * tn, tn4 = tn / 4;
  const checkM = m % bm !== 0, checkN = n % bn !== 0, checkK = k % tk !== 0;
  const kTiles = Math.ceil(k / tk);

  const accDecl: string[] = [], fmas: string[] = [], loadsA: string[] = [], loadsB: string[] = [];
  for (let i = 0; i < tm; i++) {
    loadsA.push(`    let a${i} = As[kk * ${bm}u + ty * ${tm}u + ${i}u];`);
    for (let c = 0; c < tn4; c++) {
      accDecl.push(`  var acc${i}_${c} = vec4<f32>(0.0);`);
      fmas.push(`    acc${i}_${c} = fma(vec4<f32>(a${i}), b${c}, acc${i}_${c});`);
    }
  }
  for (let c = 0; c < tn4; c++) {
    loadsB.push(`    let b${c} = Bs4[kk * ${bn / 4}u + ${c * wx}u + tx];`);
  }

  const epilogue: string[] = [];
  for (let i = 0; i < tm; i++) {
    epilogue.push(`  {`);
    epilogue.push(`    let r = m0 + ty * ${tm}u + ${i}u;`);
    if (checkM) epilogue.push(`    if (r < ${m}u) {`);
    for (let c = 0; c < tn4; c++) {
      for (let q = 0; q < 4; q++) {
        const col = `n0 + ${c * wx * 4 + q}u + tx * 4u`;
        const comp = "xyzw"[q];
        let value = alpha === 1 ? `acc${i}_${c}.${comp}` : `${f32(alpha)} * acc${i}_${c}.${comp}`;
        const lines = [`      let col = ${col};`];
        const idx = `r * ${n}u + col`;
        if (beta === 1) value = `${value} + C[${idx}]`;
        if (bias) value = `${value} + bias[col]`;
        lines.push(`      C[${idx}] = ${value};`);
        epilogue.push(`    {`);
        if (checkN) {
          epilogue.push(lines[0], `      if (col < ${n}u) {`, `  ${lines[1]}`, `      }`);
        } else {
          epilogue.push(...lines);
        }
        epilogue.push(`    }`);
      }
    }
    if (checkM) epilogue.push(`    }`);
    epilogue.push(`  }`);
  }

  // Bs is written as scalars and read as vec4: two views of one workgroup array are not allowed,
  // so it is declared vec4 and scalar writes go to a component.
  const stageB = stageTile("B", (i, v) => `{ let j = ${i}; Bs4[j / 4u][j % 4u] = ${v}; }`, {
    rows: bn,
    tk,
    threads,
    kFast: transB,
    ld: transB ? k : n,
  }, { r0: "n0", extent: n, checkR: checkN, checkK, k });

  return `// gemm ${m}x${n}x${k} transA=${transA} transB=${transB} alpha=${alpha} beta=${beta} bias=${bias}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${bias ? "@group(0) @binding(3) var<storage, read> bias: array<f32>;" : ""}
var<workgroup> As: array<f32, ${tk * bm}>;
var<workgroup> Bs4: array<vec4<f32>, ${(tk * bn) / 4}>;

@compute @workgroup_size(${wx}, ${wy}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tx = li.x;
  let ty = li.y;
  let n0 = wg.x * ${bn}u;
  let m0 = wg.y * ${bm}u;
${accDecl.join("\n")}
  for (var t = 0u; t < ${kTiles}u; t++) {
    let k0 = t * ${tk}u;
${
    stageTile("A", (i, v) => `As[${i}] = ${v};`, {
      rows: bm,
      tk,
      threads,
      kFast: !transA,
      ld: transA ? m : k,
    }, {
      r0: "m0",
      extent: m,
      checkR: checkM,
      checkK,
      k,
    })
  }
${stageB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${tk}u; kk++) {
${loadsA.join("\n")}
${loadsB.join("\n")}
${fmas.join("\n")}
    }
    workgroupBarrier();
  }
${epilogue.join("\n")}
}
`;
}

/** Builds the kernel of `options` for `device`; `tile` overrides the choice (benchmarks, tests). */
export function createGemm(
  device: GPUDevice,
  options: GemmOptions,
  tile: GemmTile = chooseTile(device.limits, options),
): GemmKernel {
  checkOptions(options);
  if (!tileFits(tile, device.limits)) {
    throw new RangeError(`gemm: tile ${JSON.stringify(tile)} does not fit this device's limits`);
  }
  const { m, n, k } = options;
  const bias = options.bias ?? false;
  const entries: GPUBindGroupLayoutEntry[] = [
    { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "read-only-storage" } },
    { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: "read-only-storage" } },
    { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } },
  ];
  if (bias) {
    entries.push({
      binding: 3,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "read-only-storage" },
    });
  }
  const layout = device.createBindGroupLayout({ entries });
  const module = device.createShaderModule({ code: gemmWgsl(options, tile) });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: "main" },
  });
  const bytes = { a: 4 * m * k, b: 4 * k * n, c: 4 * m * n, bias: 4 * n };
  const groupsX = Math.ceil(n / (tile.wx * tile.tn));
  const groupsY = Math.ceil(m / (tile.wy * tile.tm));
  // a -> b -> c -> (bias, or c again without one) -> bind group
  const cache = new WeakMap<
    GPUBuffer,
    WeakMap<GPUBuffer, WeakMap<GPUBuffer, WeakMap<GPUBuffer, GPUBindGroup>>>
  >();

  function bindGroup(buffers: GemmBuffers): GPUBindGroup {
    let byB = cache.get(buffers.a);
    if (!byB) cache.set(buffers.a, byB = new WeakMap());
    let byC = byB.get(buffers.b);
    if (!byC) byB.set(buffers.b, byC = new WeakMap());
    let byBias = byC.get(buffers.c);
    if (!byBias) byC.set(buffers.c, byBias = new WeakMap());
    const biasKey = buffers.bias ?? buffers.c;
    const hit = byBias.get(biasKey);
    if (hit) return hit;
    const list: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: buffers.a, size: bytes.a } },
      { binding: 1, resource: { buffer: buffers.b, size: bytes.b } },
      { binding: 2, resource: { buffer: buffers.c, size: bytes.c } },
    ];
    if (bias) {
      if (!buffers.bias) throw new Error("gemm: created with bias: true but encode() got no bias");
      list.push({ binding: 3, resource: { buffer: buffers.bias, size: bytes.bias } });
    }
    const group = device.createBindGroup({ layout, entries: list });
    byBias.set(biasKey, group);
    return group;
  }

  return {
    flops: 2 * m * n * k,
    encode(pass, buffers) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup(buffers));
      pass.dispatchWorkgroups(groupsX, groupsY, 1);
    },
  };
}
