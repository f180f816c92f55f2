// WGSL of the "tiled" GEMM kernel, the one for hardware GPUs: each workgroup computes a BM x BN
// tile of C (BM = wy * tm, BN = wx * tn). Per K-tile of depth tk, A's BM x tk block and B's tk x BN
// block are staged in workgroup memory (k-major, so the inner loop reads both along m and n), then
// each invocation accumulates its tm x tn outputs in registers. Columns of an invocation come in
// vec4 chunks strided by 4 * wx, its rows are consecutive. Bounds checks are generated only for the
// dimensions that do not divide the tile. Used by gemm.ts.
import type { GemmOptions } from "./_gemm_options.ts";
import { f32 } from "./_gemm_wgsl.ts";

/** Tiled kernel: BM = wy * tm rows and BN = wx * tn columns of C per workgroup. */
export interface TiledTile {
  kind: "tiled";
  /** Invocations along n and along m. */
  wx: number;
  wy: number;
  /** Outputs per invocation along m and along n (tn a multiple of 4). */
  tm: number;
  tn: number;
  /** Depth of the K-tile staged in workgroup memory. */
  tk: number;
}

/** Rows and columns of C one workgroup covers. */
export function tiledExtent(t: TiledTile): { rows: number; cols: number } {
  return { rows: t.wy * t.tm, cols: t.wx * t.tn };
}

/** Whether `tile` is well formed and fits the device's workgroup limits. */
export function tiledFits(tile: TiledTile, limits: GPUSupportedLimits): boolean {
  const { wx, wy, tm, tn, tk } = tile;
  const threads = wx * wy;
  const bm = wy * tm, bn = wx * tn;
  const shared = 4 * tk * (bm + bn);
  return tn % 4 === 0 && tm >= 1 && (bm * tk) % threads === 0 && (bn * tk) % threads === 0 &&
    threads <= limits.maxComputeInvocationsPerWorkgroup &&
    wx <= limits.maxComputeWorkgroupSizeX && wy <= limits.maxComputeWorkgroupSizeY &&
    shared <= limits.maxComputeWorkgroupStorageSize;
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

/** The tiled kernel of `options`. */
export function tiledWgsl(options: GemmOptions, tile: TiledTile): string {
  const { m, n, k } = options;
  const transA = options.transA ?? false, transB = options.transB ?? false;
  const alpha = options.alpha ?? 1, beta = options.beta ?? 0, bias = options.bias ?? false;
  const relu = options.relu ?? false;
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
        if (relu) value = `max(${value}, 0.0)`;
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

  return `// gemm (tiled) ${m}x${n}x${k} transA=${transA} transB=${transB} alpha=${alpha} beta=${beta} bias=${bias} relu=${relu}
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
