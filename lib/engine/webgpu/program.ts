// Compute programs of the webgpu engine: a WGSL source compiled once into a pipeline, bound to
// fixed buffers once (bind groups are built at first use and kept), recorded into a compute pass
// with a fixed grid. Nothing here allocates per step. Private to lib/engine/webgpu/.
import { type Mirror, mirrorDeclaration, mirrorLayoutEntry, refreshMirror } from "./mirror.ts";

/** Where an indirect dispatch reads its workgroup counts (three u32 at `offset`). */
export interface IndirectArgs {
  buffer: GPUBuffer;
  offset: number;
}

/**
 * One compute shader bound to its buffers: `record` adds its dispatch(es) of `groups`
 * workgroups to a pass, or with `indirect` the same dispatches with the counts a buffer holds
 * (written on the device, e.g. zeros to skip the program).
 */
export interface Program {
  readonly label: string;
  readonly groups: readonly [number, number, number];
  record(pass: GPUComputePassEncoder, indirect?: IndirectArgs): void;
  /** Texture mirrors the program reads (mirror.ts); recordPrograms() brings each up to date. */
  readonly mirrors?: readonly Mirror[];
  /** Buffers the program may write, which makes their mirrors stale (all its bound buffers). */
  readonly writes?: readonly GPUBuffer[];
}

/**
 * Records `programs` in order into `encoder`, in one compute pass split only where a program reads
 * a mirror that is stale: the pass ends, the copy runs, a new pass begins. A mirror is stale until
 * its first copy in this command buffer and again after any program that may write its buffer
 * (so a buffer read through a mirror by several programs is copied once while nothing writes it).
 */
export function recordPrograms(encoder: GPUCommandEncoder, programs: readonly Program[]): void {
  let pass: GPUComputePassEncoder | undefined;
  const fresh = new Set<Mirror>();
  for (const p of programs) {
    const stale = (p.mirrors ?? []).filter((m) => !fresh.has(m));
    if (stale.length) {
      pass?.end();
      pass = undefined;
      for (const m of stale) {
        refreshMirror(encoder, m);
        fresh.add(m);
      }
    }
    pass ??= encoder.beginComputePass();
    p.record(pass);
    for (const written of p.writes ?? []) {
      for (const m of fresh) if (m.buffer === written) fresh.delete(m);
    }
  }
  pass?.end();
}

/** Dispatches `groups`, or indirectly from `indirect` when given. */
export function dispatch(
  pass: GPUComputePassEncoder,
  groups: readonly [number, number, number],
  indirect?: IndirectArgs,
): void {
  if (indirect) pass.dispatchWorkgroupsIndirect(indirect.buffer, indirect.offset);
  else pass.dispatchWorkgroups(...groups);
}

/**
 * Buffers (or texture mirrors of buffers, read-only, declared with type "texture") by binding
 * index (0, 1, ...) in the order the WGSL declares them.
 */
export type Bindings = (GPUBuffer | Mirror)[];

function isMirror(b: GPUBuffer | Mirror): b is Mirror {
  return (b as Mirror).kind === "mirror";
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/**
 * A pipeline for `code` with `bindings` storage buffers (cached per device and source, so
 * identical kernels compile once). The layout is explicit: "auto" would drop bindings a variant
 * of a kernel does not read.
 */
function pipeline(
  device: GPUDevice,
  options: { code: string; label: string; bindings: Bindings },
): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  let p = cache.get(options.code);
  if (!p) {
    const module = device.createShaderModule({ code: options.code, label: options.label });
    const entries: GPUBindGroupLayoutEntry[] = options.bindings.map((b, binding) =>
      isMirror(b)
        ? mirrorLayoutEntry(binding)
        : { binding, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } }
    );
    const layout = device.createPipelineLayout({
      bindGroupLayouts: [device.createBindGroupLayout({ entries })],
    });
    p = device.createComputePipeline({ layout, compute: { module, entryPoint: "main" } });
    cache.set(options.code, p);
  }
  return p;
}

/**
 * A program running `code` (entry point `main`, bindings @group(0) @binding(0..n-1) in the order
 * of `buffers`) on a grid of `groups` workgroups.
 */
export function program(
  device: GPUDevice,
  options: { label: string; code: string; buffers: Bindings; groups: [number, number?, number?] },
): Program {
  const p = pipeline(device, {
    code: options.code,
    label: options.label,
    bindings: options.buffers,
  });
  const bindGroup = device.createBindGroup({
    layout: p.getBindGroupLayout(0),
    entries: options.buffers.map((b, binding) => ({
      binding,
      resource: isMirror(b) ? b.texture.createView() : { buffer: b },
    })),
  });
  const [x, y = 1, z = 1] = options.groups;
  const groups = [x, y, z] as const;
  return {
    label: options.label,
    groups,
    record(pass, indirect) {
      pass.setPipeline(p);
      pass.setBindGroup(0, bindGroup);
      dispatch(pass, groups, indirect);
    },
    mirrors: options.buffers.filter(isMirror),
    writes: options.buffers.filter((b): b is GPUBuffer => !isMirror(b)),
  };
}

/**
 * `var<storage, read_write> name: array<f32>;` declarations for bindings 0..n-1 (`types` overriding
 * array<f32>; "texture" declares a Mirror, mirrorDeclaration()).
 */
export function declare(names: string[], types: Record<string, string> = {}): string {
  return names.map((n, i) =>
    types[n] === "texture"
      ? mirrorDeclaration(i, n)
      : `@group(0) @binding(${i}) var<storage, read_write> ${n}: ${types[n] ?? "array<f32>"};`
  ).join("\n");
}

/** A WGSL float literal (always with a point or exponent, so it types as f32). */
export function f32(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`not a finite WGSL constant: ${x}`);
  const s = Math.fround(x).toString();
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/** Workgroups for `n` items at `per` items per workgroup, capped (grid-stride loops cover the rest). */
export function groupsFor(n: number, per: number, cap = 65535): number {
  return Math.max(1, Math.min(cap, Math.ceil(n / per)));
}
