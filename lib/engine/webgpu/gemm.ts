// TEMPORARY simple GEMM (replaced by the tiled one from branch wt-gemm). Row-major f32.
export interface GemmOptions {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: 0 | 1;
  bias?: boolean;
}
export interface GemmKernel {
  encode(
    pass: GPUComputePassEncoder,
    buffers: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer; bias?: GPUBuffer },
  ): void;
  readonly flops: number;
}
export function createGemm(device: GPUDevice, o: GemmOptions): GemmKernel {
  const { m, n, k } = o;
  const code = `
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
${o.bias ? "@group(0) @binding(3) var<storage, read_write> bias: array<f32>;" : ""}
var<workgroup> ta: array<array<f32, 16>, 16>;
var<workgroup> tb: array<array<f32, 16>, 16>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lr = lid.y; let lc = lid.x;
  let rowT = wid.y * 16u; let colT = wid.x * 16u;
  var s = 0.0;
  for (var t = 0u; t < ${k}u; t += 16u) {
    { let row = rowT + lr; let ok = row < ${m}u && t + lc < ${k}u;
      let lr2 = lc; // load A[row, t + lc]
      var v = 0.0; if (ok) { ${
    o.transA ? `v = a[(t + lc) * ${m}u + row];` : `v = a[row * ${k}u + t + lc];`
  } } ta[lr][lc] = v; }
    { let col = colT + lc; let ok = col < ${n}u && t + lr < ${k}u;
      var v = 0.0; if (ok) { ${
    o.transB ? `v = b[col * ${k}u + t + lr];` : `v = b[(t + lr) * ${n}u + col];`
  } } tb[lr][lc] = v; }
    workgroupBarrier();
    for (var q = 0u; q < 16u; q++) { s += ta[lr][q] * tb[q][lc]; }
    workgroupBarrier();
  }
  let row = rowT + lr; let col = colT + lc;
  if (row < ${m}u && col < ${n}u) {
    var r = ${o.alpha ?? 1} * s;
    ${o.bias ? "r += bias[col];" : ""}
    ${o.beta === 1 ? `r += c[row * ${n}u + col];` : ""}
    c[row * ${n}u + col] = r;
  }
}`;
  const module = device.createShaderModule({ code });
  const p = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const cache = new Map<string, GPUBindGroup>();
  const ids = new WeakMap<GPUBuffer, number>();
  let next = 0;
  const id = (x: GPUBuffer) => {
    if (!ids.has(x)) ids.set(x, next++);
    return ids.get(x)!;
  };
  return {
    flops: 2 * m * n * k,
    encode(pass, bufs) {
      const list = [bufs.a, bufs.b, bufs.c, ...(o.bias ? [bufs.bias!] : [])];
      const key = list.map(id).join(",");
      let bg = cache.get(key);
      if (!bg) {
        bg = device.createBindGroup({
          layout: p.getBindGroupLayout(0),
          entries: list.map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
        cache.set(key, bg);
      }
      pass.setPipeline(p);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(Math.ceil(n / 16), Math.ceil(m / 16));
    },
  };
}
