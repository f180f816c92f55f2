// Texture copies of row-major float32 buffers, for software adapters. llvmpipe loads a storage
// buffer value lane by lane (a branch and a bounds check per lane and component) but loads
// texels as vector code for all lanes at once: reading a [rows, cols] matrix through an
// rgba32float texture (cols/4 texels wide, rows high) filled by a copy costs a fraction of reading
// the buffer (measurements in docs/GPU.md). The copy is a memcpy recorded outside any compute
// pass: recordPrograms (program.ts) copies a mirror before the first program that reads it and
// again after a program writes its buffer. Private to lib/engine/webgpu/.

import { isSoftwareDevice } from "./adapter.ts";

/**
 * Kernels bind mirrors as read-only storage textures, which needs WGSL's
 * `readonly_and_readwrite_storage_textures` language feature (without it nothing is mirrored and
 * kernels read the buffers). Measured on llvmpipe: a sampled texture's texel fetch is a call that
 * gathers per-lane mip-level data first; the JumpReLU and ReLU steps at 64/512/4096 ran 7-14%
 * faster on storage textures (three alternating runs of `deno task gpu-bench`).
 */
export function storageMirrors(): boolean {
  const features = (navigator.gpu as { wgslLanguageFeatures?: ReadonlySet<string> })
    .wgslLanguageFeatures;
  return features?.has("readonly_and_readwrite_storage_textures") ?? false;
}

/** The WGSL declaration of mirror binding `binding` named `name`. */
export function mirrorDeclaration(binding: number, name: string): string {
  return `@group(0) @binding(${binding}) var ${name}: texture_storage_2d<rgba32float, read>;`;
}

/** WGSL of the texel (a vec4<f32>) at column `x`, row `y` (u32 expressions) of mirror `name`. */
export function mirrorLoad(name: string, x: string, y: string): string {
  return `textureLoad(${name}, vec2<u32>(${x}, ${y}))`;
}

/** The bind group layout entry of a mirror at `binding`. */
export function mirrorLayoutEntry(binding: number): GPUBindGroupLayoutEntry {
  return {
    binding,
    visibility: GPUShaderStage.COMPUTE,
    storageTexture: { access: "read-only", format: "rgba32float" },
  };
}

/** A texture that holds a copy of `buffer`, a row-major [height, 4 * width] float32 matrix. */
export interface Mirror {
  readonly kind: "mirror";
  readonly buffer: GPUBuffer;
  readonly texture: GPUTexture;
  /** Texels (vec4s) per row. */
  readonly width: number;
  readonly height: number;
}

/**
 * Whether a [rows, cols] matrix can be mirrored on `limits`: rows of whole 256-byte multiples (what
 * a buffer-to-texture copy needs: cols a multiple of 64) within maxTextureDimension2D, on WGSL with
 * read-only storage textures (storageMirrors).
 */
export function mirrorFits(rows: number, cols: number, limits: GPUSupportedLimits): boolean {
  const max = limits.maxTextureDimension2D;
  return rows >= 1 && cols % 64 === 0 && cols / 4 <= max && rows <= max && storageMirrors();
}

/**
 * Whether kernels on `device` read a [rows, cols] matrix through a mirror: only on a software
 * adapter (a GPU loads buffers as fast), and only where the matrix fits (mirrorFits).
 */
export function readsMirror(device: GPUDevice, rows: number, cols: number): boolean {
  return isSoftwareDevice(device) && mirrorFits(rows, cols, device.limits);
}

/** An rgba32float texture of `width` x `height` texels that copies can fill and kernels read. */
function mirrorTexture(device: GPUDevice, width: number, height: number, label: string) {
  return device.createTexture({
    label,
    size: [width, height],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING |
      GPUTextureUsage.COPY_DST,
  });
}

/** Records the copy of the first `height` rows of `buffer` into `texture` (`width` texels a row). */
function copyIntoTexture(
  encoder: GPUCommandEncoder,
  buffer: GPUBuffer,
  texture: GPUTexture,
  width: number,
  height: number,
): void {
  encoder.copyBufferToTexture(
    { buffer, bytesPerRow: 16 * width, rowsPerImage: height },
    { texture },
    [width, height],
  );
}

/** A mirror of `buffer` as a [rows, cols] matrix (check mirrorFits first). */
function createMirror(
  device: GPUDevice,
  buffer: GPUBuffer,
  rows: number,
  cols: number,
  label: string,
): Mirror {
  if (!mirrorFits(rows, cols, device.limits)) {
    throw new RangeError(`webgpu: cannot mirror a ${rows} x ${cols} matrix as a texture`);
  }
  const width = cols / 4;
  return {
    kind: "mirror",
    buffer,
    texture: mirrorTexture(device, width, rows, label),
    width,
    height: rows,
  };
}

const shared = new WeakMap<GPUBuffer, Map<string, Mirror>>();

/**
 * The one mirror of `buffer` as a [rows, cols] matrix on its device (created at first use): every
 * kernel that reads that matrix through a texture binds the same one, so recordPrograms copies it
 * once while nothing writes the buffer.
 */
export function sharedMirror(
  device: GPUDevice,
  buffer: GPUBuffer,
  rows: number,
  cols: number,
): Mirror {
  let byShape = shared.get(buffer);
  if (!byShape) shared.set(buffer, byShape = new Map());
  const key = `${rows}x${cols}`;
  let m = byShape.get(key);
  if (!m) byShape.set(key, m = createMirror(device, buffer, rows, cols, `${buffer.label} ${key}`));
  return m;
}

/** Records the copy that brings `mirror` up to date with its buffer. */
export function refreshMirror(encoder: GPUCommandEncoder, mirror: Mirror): void {
  copyIntoTexture(encoder, mirror.buffer, mirror.texture, mirror.width, mirror.height);
}
