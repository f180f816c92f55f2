// The tanh penalty's tanh(x) and sech^2(x) in WGSL (lib/engine/webgpu/tanh_sech2.ts) against
// Math.tanh and 1 / cosh^2 in float64, at 0, across the series' edge at |x| = 0.125, and far out
// (where exp(-2|x|) underflows): relative 2e-6 (a few float32 ulps) + 1e-30.
import { assertTanhSech2, TANH_XS } from "../_tanh_cases.ts";
import { openDevice } from "../../../lib/engine/webgpu/device.ts";
import { TANH_SECH2 } from "../../../lib/engine/webgpu/tanh_sech2.ts";
import { elementwise } from "../../../lib/engine/webgpu/wgsl.ts";
import { webgpuTest } from "../_webgpu.ts";

webgpuTest("tanh_sech2 gives tanh(x) and sech^2(x) to a few float32 ulps", async () => {
  const { device } = await openDevice();
  try {
    const n = TANH_XS.length;
    const x = device.createBuffer({
      size: n * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(x, 0, new Float32Array(TANH_XS));
    const out = device.createBuffer({
      size: n * 8,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({
      size: n * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const p = elementwise(device, {
      label: "tanh_sech2",
      n,
      body: "let r = tanh_sech2(x[i]); o[2u * i] = r.x; o[2u * i + 1u] = r.y;",
      buffers: { x, o: out },
      prelude: TANH_SECH2,
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    p.record(pass);
    pass.end();
    enc.copyBufferToBuffer(out, 0, read, 0, n * 8);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    assertTanhSech2(new Float32Array(read.getMappedRange().slice(0)), "WGSL");
  } finally {
    device.destroy();
  }
});
