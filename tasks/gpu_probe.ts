// `deno task gpu-probe [--shapes ...] [--parity]`: what the webgpu engine stands on, measured: the
// adapter with its limits and features; the cost of a dispatch, a pass, a submit, a
// submit + wait and a readback; the WGSL GEMM's GFLOP/s on the five products of a training step;
// with --parity, the webgpu engine against the cpu engine over a few Adam steps per architecture.
// Prints a report on stdout, then one JSON line. Bundled into the GPU bundle (tasks/gpu_bundle.ts).
// Shapes: B batch, D d_model, F latents.
import { Command } from "commander";
import { openDevice } from "../lib/engine/webgpu/device.ts";
import { createGemm, type GemmOptions, recordGemm } from "../lib/engine/webgpu/gemm.ts";
import { stepProducts } from "../lib/engine/webgpu/gemm_bench.ts";
import { createEngine } from "../lib/engine/create_engine.ts";
import {
  compareRuns,
  makeParityCase,
  portableCpuEngine,
  runEngine,
  webgpuParityVariants,
} from "../lib/bench/engine_parity.ts";
import { parseIntFlag, runMain } from "./_cli.ts";
import { DEFAULT_SHAPES, parseShapes, shapeKey } from "./_gpu_shapes.ts";

/** Dispatches (or passes, or submits) per timed batch of the overhead probes. */
const BATCH = 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function medianOf(n: number, fn: () => Promise<number>): Promise<number> {
  await fn(); // warm: pipelines, first-use allocations
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  return median(xs);
}

/** Microseconds per unit of the driver overheads the engine's step is built around. */
async function overheads(device: GPUDevice, repeats: number): Promise<Record<string, number>> {
  const buffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> v: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  v[g.x] = v[g.x] + 1u;
}`,
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer } }],
  });
  const dispatch = (pass: GPUComputePassEncoder) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
  };
  /** Microseconds of `count` units recorded by `record`, submitted once and waited for. */
  const timed = async (count: number, record: (enc: GPUCommandEncoder) => void) => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    for (let i = 0; i < count; i++) record(enc);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) * 1000;
  };
  const onePass = (count: number) => async () => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < count; i++) dispatch(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) * 1000;
  };
  const passEach = (count: number) => () =>
    timed(count, (enc) => {
      const pass = enc.beginComputePass();
      dispatch(pass);
      pass.end();
    });
  // Per-unit cost: (time of BATCH units - time of 1) / (BATCH - 1), so the wait is not counted.
  const perUnit = async (make: (count: number) => () => Promise<number>) =>
    (await medianOf(repeats, make(BATCH)) - await medianOf(repeats, make(1))) / (BATCH - 1);
  const submits = (count: number) => async () => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      dispatch(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
    }
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) * 1000;
  };
  const readback = (bytes: number) => {
    const src = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const dst = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    return async () => {
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
      device.queue.submit([enc.finish()]);
      await dst.mapAsync(GPUMapMode.READ);
      new Float32Array(dst.getMappedRange()).at(-1);
      dst.unmap();
      return (performance.now() - t0) * 1000;
    };
  };
  return {
    dispatch_in_one_pass_us: await perUnit(onePass),
    pass_per_dispatch_us: await perUnit(passEach),
    submit_us: await perUnit(submits),
    submit_and_wait_us: await medianOf(repeats, onePass(1)),
    readback_4B_us: await medianOf(repeats, readback(4)),
    readback_16MiB_us: await medianOf(Math.min(repeats, 10), readback(16 << 20)),
  };
}

interface GemmRow {
  shape: string;
  product: string;
  m: number;
  n: number;
  k: number;
  ms: number | null;
  gflops: number | null;
  error?: string;
}

async function timeGemm(device: GPUDevice, name: string, o: GemmOptions): Promise<GemmRow> {
  const row = { product: name, m: o.m, n: o.n, k: o.k };
  const buf = (floats: number) =>
    device.createBuffer({
      size: Math.max(16, floats * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
  const bufs = {
    a: buf(o.m * o.k),
    b: buf(o.k * o.n),
    c: buf(o.m * o.n),
    bias: o.bias ? buf(o.n) : undefined,
  };
  try {
    device.pushErrorScope("validation");
    device.pushErrorScope("out-of-memory");
    const gemm = createGemm(device, o);
    const run = async (iters: number) => {
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      recordGemm(enc, gemm, bufs, iters);
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / 1000;
    };
    await run(1); // compiles the pipeline
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    if (oom || invalid) throw new Error((oom ?? invalid)!.message.split("\n")[0]);
    // n back-to-back products against one, so the ~10 ms submit + wait floor cancels out.
    const one = await run(1);
    const n = Math.max(2, Math.min(200, Math.ceil(0.1 / Math.max(one, 1e-4)) + 1));
    const times: number[] = [];
    for (let r = 0; r < 3; r++) times.push(Math.max(0, (await run(n)) - (await run(1))) / (n - 1));
    const s = median(times) > 0 ? median(times) : (await run(n)) / n;
    return { shape: "", ...row, ms: s * 1000, gflops: gemm.flops / s / 1e9 };
  } catch (e) {
    return { shape: "", ...row, ms: null, gflops: null, error: (e as Error).message };
  } finally {
    for (const b of Object.values(bufs)) b?.destroy();
  }
}

interface ParityRow {
  label: string;
  result: "PASS" | "FAIL" | "SKIP";
  worst: number | null;
  worstAt?: string;
  detail?: string;
}

/** The webgpu engine against the cpu engine (TypeScript GEMM) on each parity variant. */
async function parity(steps: number, only: RegExp | null): Promise<ParityRow[]> {
  const rows: ParityRow[] = [];
  for (const v of webgpuParityVariants().filter((v) => only?.test(v.label) ?? true)) {
    let row: ParityRow;
    try {
      const c = makeParityCase(v.arch, { sae: v.sae, gradClip: v.gradClip, steps });
      const why = c.arch.kernels!.webgpu!.unsupported(c.sae);
      if (why) {
        row = { label: v.label, result: "SKIP", worst: null, detail: why };
      } else {
        const want = await runEngine(c, (init) => portableCpuEngine(c, init));
        const have = await runEngine(c, (init) =>
          createEngine(c.arch, init, {
            sae: c.sae,
            adamEps: 1e-8,
            gradClip: c.gradClip,
            batch: c.dims.b,
            engine: "webgpu",
          }));
        const r = compareRuns(have, want);
        row = {
          label: v.label,
          result: r.failures.length ? "FAIL" : "PASS",
          worst: r.worst,
          worstAt: r.worstAt,
          detail: r.failures.slice(0, 3).join("; ") || undefined,
        };
      }
    } catch (e) {
      row = { label: v.label, result: "FAIL", worst: null, detail: (e as Error).message };
    }
    rows.push(row);
    console.log(
      `parity ${row.result} ${row.label}: ` +
        (row.worst === null ? "" : `worst ${row.worst.toFixed(3)} of tolerance at ${row.worstAt}`) +
        (row.detail ? ` ${row.detail}` : ""),
    );
  }
  return rows;
}

function limitsOf(limits: GPUSupportedLimits): Record<string, number> {
  const out: Record<string, number> = {};
  // GPUSupportedLimits exposes its limits as prototype getters.
  for (const k in limits) {
    const v = (limits as unknown as Record<string, unknown>)[k];
    if (typeof v === "number") out[k] = v;
  }
  return out;
}

/** The adapter's own features and maximum limits (openDevice's device has only what it asked). */
async function adapterCaps(): Promise<{ features: string[]; limits: Record<string, number> }> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  const adapter = await gpu?.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return { features: [], limits: {} };
  return { features: [...adapter.features].sort(), limits: limitsOf(adapter.limits) };
}

async function main(): Promise<number> {
  const program = new Command("gpu-probe")
    .description("Probe the WebGPU adapter: limits, driver overheads, WGSL GEMM speed, parity")
    .option("--shapes <list>", "d_model/d_sae/batch shapes of the GEMM timings", DEFAULT_SHAPES)
    .option("--repeats <n>", "samples per overhead median", parseIntFlag("--repeats", 1), 20)
    .option("--parity", "check the webgpu engine against the cpu engine per architecture")
    .option(
      "--parity-steps <n>",
      "Adam steps per parity check",
      parseIntFlag("--parity-steps", 1),
      3,
    )
    .option("--only <regex>", "with --parity: only the variants whose label matches")
    .option("--no-gemm", "skip the GEMM timings")
    .option("--no-costs", "skip the dispatch, submit and readback timings")
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse(Deno.args, { from: "user" });
  const opts = program.opts<
    {
      shapes: string;
      repeats: number;
      parity?: boolean;
      paritySteps: number;
      only?: string;
      gemm: boolean;
      costs: boolean;
    }
  >();
  const shapes = parseShapes(opts.shapes);
  const gpu = await openDevice();
  const { device } = gpu;
  const limits = limitsOf(gpu.limits);
  const adapterInfo = await adapterCaps();
  const features = adapterInfo.features;
  console.log(`adapter: ${gpu.adapter}${gpu.fallback ? " (software fallback)" : " (hardware)"}`);
  console.log(`deno ${Deno.version.deno}, ${navigator.userAgent}`);
  console.log(`adapter features: ${features.join(", ") || "none"}`);
  console.log(
    "limits of the device (openDevice raises some to the adapter's), the adapter's where they differ",
  );
  for (const [k, v] of Object.entries(limits)) {
    console.log(
      `  ${k} ${v}${adapterInfo.limits[k] === v ? "" : ` (adapter ${adapterInfo.limits[k]})`}`,
    );
  }

  const costs = opts.costs ? await overheads(device, opts.repeats) : undefined;
  if (costs) {
    console.log(`driver costs, microseconds (medians of ${opts.repeats}):`);
    for (const [k, v] of Object.entries(costs)) console.log(`  ${k.padEnd(26)} ${v.toFixed(1)}`);
  }

  const gemms: GemmRow[] = [];
  if (opts.gemm) {
    console.log("WGSL GEMM (lib/engine/webgpu/gemm.ts), products of one training step:");
    for (const s of shapes) {
      for (const { name, options: o } of stepProducts(s.batch, s.d, s.f)) {
        const row = { ...await timeGemm(device, name, o), shape: shapeKey(s) };
        gemms.push(row);
        console.log(
          `  ${row.shape.padEnd(16)} ${name.padEnd(20)} m=${o.m} n=${o.n} k=${o.k}: ` +
            (row.gflops === null
              ? `failed: ${row.error}`
              : `${row.ms!.toFixed(3)} ms, ${row.gflops.toFixed(1)} GFLOP/s`),
        );
      }
    }
  }
  const only = opts.only === undefined ? null : new RegExp(opts.only);
  const parityRows = opts.parity ? await parity(opts.paritySteps, only) : [];
  if (opts.parity && parityRows.length === 0) {
    console.error(`gpu-probe: no parity variant matches --only ${opts.only}`);
    device.destroy();
    return 2;
  }
  if (opts.parity) {
    const failed = parityRows.filter((r) => r.result === "FAIL").length;
    const worst = Math.max(0, ...parityRows.map((r) => r.worst ?? 0));
    console.log(
      `parity: ${failed ? "FAIL" : "PASS"} (${parityRows.length - failed}/${parityRows.length}` +
        ` variants, worst ratio ${worst.toFixed(3)} of tolerance)`,
    );
  }
  console.log(JSON.stringify({
    adapter: gpu.adapter,
    fallback: gpu.fallback,
    deno: Deno.version.deno,
    features,
    limits,
    adapter_limits: adapterInfo.limits,
    costs_us: costs,
    gemm: gemms,
    parity: opts.parity ? parityRows : undefined,
  }));
  device.destroy();
  return parityRows.some((r) => r.result === "FAIL") ? 1 : 0;
}

if (import.meta.main) runMain(main);
