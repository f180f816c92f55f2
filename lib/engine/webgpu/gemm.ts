// Dense float32 GEMM for the webgpu engine: C = alpha * op(A) op(B) (+ C) (+ bias), row-major, one
// WGSL kernel per shape and options, generated from a template that covers all four transposes.
// Buffers and passes are the caller's; this file builds pipelines, caches bind groups and records
// dispatches. Kernel families: "tiled" (workgroup-memory tiles, for hardware GPUs, _gemm_tiled.ts);
// for software adapters such as llvmpipe "unrolled" (one straight-line dispatch per K-chunk,
// _gemm_unrolled.ts; with `textures` it reads A and B from texture mirrors of their buffers,
// mirror.ts, which recordPrograms keeps up to date) and "direct" (a K loop without workgroup
// memory, _gemm_direct.ts). createGemm picks by adapter, device limits and shape.
import { directExtent, type DirectTile, directWgsl } from "./_gemm_direct.ts";
import { tiledExtent, tiledFits, type TiledTile, tiledWgsl } from "./_gemm_tiled.ts";
import {
  unrolledChunk,
  unrolledExtent,
  unrolledRowsFirst,
  unrolledTextures,
  type UnrolledTile,
  unrolledWgsl,
} from "./_gemm_unrolled.ts";

export type { DirectTile, TiledTile, UnrolledTile };

export type { GemmOptions } from "./_gemm_options.ts";
import type { GemmOptions } from "./_gemm_options.ts";
import { type Mirror, mirrorLayoutEntry, sharedMirror } from "./mirror.ts";
import { isSoftwareDevice } from "./adapter.ts";
import { dispatch, type IndirectArgs, type Program, recordPrograms } from "./program.ts";

export interface GemmBuffers {
  a: GPUBuffer;
  b: GPUBuffer;
  c: GPUBuffer;
  bias?: GPUBuffer;
}

export interface GemmKernel {
  /**
   * Records the product into a compute pass (bind groups cached per buffer set; no allocation
   * per call after the first); with `indirect`, every dispatch takes its workgroup counts from
   * that buffer (which holds `groups`, or zeros to skip the product).
   */
  encode(pass: GPUComputePassEncoder, buffers: GemmBuffers, indirect?: IndirectArgs): void;
  /**
   * The texture mirrors of `buffers.a` and `buffers.b` the kernel reads (shared with every kernel
   * and program that mirrors the same matrix, mirror.ts), empty when it reads the buffers: they
   * must be up to date before encode()'s pass (recordPrograms sees to it through gemmProgram;
   * the buffers need COPY_SRC usage).
   */
  mirrors(buffers: GemmBuffers): Mirror[];
  /** Workgroups of each dispatch. */
  readonly groups: readonly [number, number, number];
  /** 2 m n k. */
  readonly flops: number;
}

/** Work split of one kernel. */
export type GemmTile = TiledTile | DirectTile | UnrolledTile;

/** Tiles for hardware GPUs, best first; the first that fits the device's limits is used. */
export const TILED_TILES: readonly TiledTile[] = [
  { kind: "tiled", wx: 16, wy: 16, tm: 4, tn: 4, tk: 16 }, // 64 x 64
  { kind: "tiled", wx: 8, wy: 8, tm: 4, tn: 4, tk: 16 }, // 32 x 32
];

/**
 * Tiles for software adapters (llvmpipe) when the shape takes textures (unrolledTextures), widest
 * first; createGemm takes the first no wider than n. Measured at B/D/F 4096/64/512 (tasks/
 * gemm_bench.ts --tiles --software, 2 cores): 15-19 GFLOP/s for the five products where the
 * buffer tiles below give 4-9; kc 256 because each K-chunk reads and writes C lane by lane.
 */
export const TEXTURE_TILES: readonly UnrolledTile[] = [
  { kind: "unrolled", w: 16, tm: 8, tn: 4, kc: 256, textures: true },
  { kind: "unrolled", w: 8, tm: 8, tn: 4, kc: 256, textures: true },
];

/**
 * Tiles for software adapters (llvmpipe) with storage-buffer operands, widest first; createGemm
 * takes the first no wider than n. Measured at B/D/F 4096/64/512 (tasks/gemm_bench.ts --tiles):
 * the unrolled kernel ran 1.5-4x faster than the direct one and 5-10x faster than the tiled one.
 */
export const SOFTWARE_TILES: readonly UnrolledTile[] = [
  { kind: "unrolled", w: 32, tm: 32, tn: 4, kc: 64 },
  { kind: "unrolled", w: 16, tm: 32, tn: 4, kc: 64 },
  { kind: "unrolled", w: 8, tm: 32, tn: 4, kc: 64 },
];

/** Direct-kernel tiles: not chosen by createGemm, kept to compare with (--tiles) and tested. */
export const DIRECT_TILES: readonly DirectTile[] = [
  { kind: "direct", w: 8, tm: 16, tn: 16 },
  { kind: "direct", w: 8, tm: 16, tn: 8 },
];

/** Every tile, for tests and benchmarks. */
export const GEMM_TILES: readonly GemmTile[] = [
  ...TILED_TILES,
  ...TEXTURE_TILES,
  ...SOFTWARE_TILES,
  ...DIRECT_TILES,
];

/** Whether `tile` is well formed and fits the device's workgroup limits. */
export function tileFits(tile: GemmTile, limits: GPUSupportedLimits): boolean {
  if (tile.kind === "tiled") return tiledFits(tile, limits);
  const shared = tile.kind === "unrolled" ? 4 * tile.tm * tile.kc : 0;
  if (tile.kind === "unrolled" && tile.textures && (tile.tm % 4 !== 0 || tile.kc % 4 !== 0)) {
    return false;
  }
  return tile.tn % 4 === 0 && tile.tm >= 1 && tile.w <= limits.maxComputeWorkgroupSizeX &&
    tile.w <= limits.maxComputeInvocationsPerWorkgroup &&
    shared <= limits.maxComputeWorkgroupStorageSize;
}

/** Rows and columns of C one workgroup covers. */
export function tileExtent(tile: GemmTile): { rows: number; cols: number } {
  if (tile.kind === "tiled") return tiledExtent(tile);
  return tile.kind === "direct" ? directExtent(tile) : unrolledExtent(tile);
}

/** `tiled 64x64x16 (4x4)` or `direct 16x128 (16x16)`: workgroup extent (x K-tile), per invocation. */
export function tileName(tile: GemmTile): string {
  const e = tileExtent(tile);
  const depth = tile.kind === "tiled"
    ? `x${tile.tk}`
    : tile.kind === "unrolled"
    ? `x${tile.kc}`
    : "";
  const tex = tile.kind === "unrolled" && tile.textures ? " textures" : "";
  return `${tile.kind} ${e.rows}x${e.cols}${depth} (${tile.tm}x${tile.tn})${tex}`;
}

/**
 * The tile createGemm uses: on a software adapter the first software tile no wider than n (else
 * the narrowest), from TEXTURE_TILES when the shape takes textures; on a GPU the first tiled one
 * that fits the device's limits.
 */
export function chooseTile(
  limits: GPUSupportedLimits,
  options: GemmOptions,
  software = false,
): GemmTile {
  if (software) {
    const textures = unrolledTextures(options, limits) !== null;
    const fits = (textures ? TEXTURE_TILES : SOFTWARE_TILES).filter((t) => tileFits(t, limits));
    const tile = fits.find((t) => tileExtent(t).cols <= options.n) ?? fits.at(-1);
    if (tile) return tile;
  }
  const tile = TILED_TILES.find((t) => tileFits(t, limits));
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

/** The WGSL of one kernel (exported for tests and inspection). */
export function gemmWgsl(options: GemmOptions, tile: GemmTile): string {
  if (tile.kind === "tiled") return tiledWgsl(options, tile);
  return tile.kind === "direct" ? directWgsl(options, tile) : unrolledWgsl(options, tile);
}

/** Builds the kernel of `options` for `device`; `tile` overrides the choice (benchmarks, tests). */
export function createGemm(
  device: GPUDevice,
  options: GemmOptions,
  tile: GemmTile = chooseTile(device.limits, options, isSoftwareDevice(device)),
): GemmKernel {
  checkOptions(options);
  if (!tileFits(tile, device.limits)) {
    throw new RangeError(`gemm: tile ${JSON.stringify(tile)} does not fit this device's limits`);
  }
  const { m, n, k } = options;
  const bias = options.bias ?? false;
  const textures = tile.kind === "unrolled" && tile.textures
    ? unrolledTextures(options, device.limits)
    : undefined;
  if (textures === null) {
    throw new RangeError(`gemm: tile ${tileName(tile)} cannot take ${m}x${n}x${k} as textures`);
  }
  // A and B as the row-major matrices they are stored as ([k, m] for A^T, [n, k] for B^T).
  const mirrorsOf = (buffers: GemmBuffers): Mirror[] =>
    textures
      ? [
        sharedMirror(device, buffers.a, textures.a[1], 4 * textures.a[0]),
        sharedMirror(device, buffers.b, textures.b[1], 4 * textures.b[0]),
      ]
      : [];
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
  // The unrolled kernel runs one dispatch per K-chunk; each reads its chunk's start from a uniform
  // at a dynamic offset into `chunks`.
  const chunkCount = tile.kind === "unrolled" ? Math.ceil(k / unrolledChunk(tile, k)) : 1;
  const stride = device.limits.minUniformBufferOffsetAlignment;
  let chunks: GPUBuffer | undefined;
  if (tile.kind === "unrolled") {
    entries.push({
      binding: 4,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "uniform", hasDynamicOffset: true },
    });
    chunks = device.createBuffer({
      size: stride * chunkCount,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const words = new Uint32Array((stride / 4) * chunkCount);
    const kc = unrolledChunk(tile, k);
    for (let j = 0; j < chunkCount; j++) {
      words[(j * stride) / 4] = j * kc;
      words[(j * stride) / 4 + 1] = j === 0 ? 1 : 0;
    }
    device.queue.writeBuffer(chunks, 0, words);
  }
  if (textures) {
    entries[0] = mirrorLayoutEntry(0);
    entries[1] = mirrorLayoutEntry(1);
  }
  const layout = device.createBindGroupLayout({ entries });
  const module = device.createShaderModule({ code: gemmWgsl(options, tile) });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: "main" },
  });
  const bytes = { a: 4 * m * k, b: 4 * k * n, c: 4 * m * n, bias: 4 * n };
  const extent = tileExtent(tile);
  const groupsX = Math.ceil(n / extent.cols);
  const groupsY = Math.ceil(m / extent.rows);
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
    const mirrored = mirrorsOf(buffers);
    const list: GPUBindGroupEntry[] = [
      {
        binding: 0,
        resource: mirrored[0]?.texture.createView() ?? { buffer: buffers.a, size: bytes.a },
      },
      {
        binding: 1,
        resource: mirrored[1]?.texture.createView() ?? { buffer: buffers.b, size: bytes.b },
      },
      { binding: 2, resource: { buffer: buffers.c, size: bytes.c } },
    ];
    if (bias) {
      if (!buffers.bias) throw new Error("gemm: created with bias: true but encode() got no bias");
      list.push({ binding: 3, resource: { buffer: buffers.bias, size: bytes.bias } });
    }
    if (chunks) list.push({ binding: 4, resource: { buffer: chunks, size: 8 } });
    const group = device.createBindGroup({ layout, entries: list });
    byBias.set(biasKey, group);
    return group;
  }

  const groups = tile.kind === "unrolled" && unrolledRowsFirst(options)
    ? [groupsY, groupsX, 1] as const
    : [groupsX, groupsY, 1] as const;
  return {
    flops: 2 * m * n * k,
    groups,
    mirrors: mirrorsOf,
    encode(pass, buffers, indirect) {
      pass.setPipeline(pipeline);
      const group = bindGroup(buffers);
      if (!chunks) {
        pass.setBindGroup(0, group);
        dispatch(pass, groups, indirect);
        return;
      }
      for (let j = 0; j < chunkCount; j++) {
        pass.setBindGroup(0, group, [j * stride]);
        dispatch(pass, groups, indirect);
      }
    },
  };
}

/** The product of `gemm` on fixed `buffers` as a program (its copies staged before it). */
export function gemmProgram(label: string, gemm: GemmKernel, buffers: GemmBuffers): Program {
  return {
    label,
    groups: gemm.groups,
    record: (pass, indirect) => gemm.encode(pass, buffers, indirect),
    mirrors: gemm.mirrors(buffers),
    writes: [buffers.c],
  };
}

/**
 * Records `times` products into `encoder` (with their copies into textures, if any): for
 * benchmarks, probes and tests that run a kernel on its own.
 */
export function recordGemm(
  encoder: GPUCommandEncoder,
  gemm: GemmKernel,
  buffers: GemmBuffers,
  times = 1,
): void {
  recordPrograms(encoder, Array(times).fill(gemmProgram("gemm", gemm, buffers)));
}
