// `deno task gemm-bench`: GFLOP/s of the webgpu engine's GEMM (lib/engine/webgpu/gemm.ts) for the
// five products of an SAE training step, against tfjs-webgpu's tf.matMul of the same shapes on the
// same adapter, measured in one run. Prints a table, then one JSON line.
// Shapes: B batch, D d_model, F latents; --shape takes D/F/B like gpu-bench.
import { Command } from "commander";
import * as tf from "@tensorflow/tfjs";
import { openDevice } from "../lib/engine/webgpu/device.ts";
import {
  GEMM_TILES,
  type GemmOptions,
  type GemmTile,
  tileFits,
  tileName,
} from "../lib/engine/webgpu/gemm.ts";
import { benchGemm, stepProducts } from "../lib/engine/webgpu/gemm_bench.ts";
import { UsageError } from "../lib/errors.ts";
import { parseIntFlag, runMain } from "./_cli.ts";

/** Milliseconds per tf.matMul of `o`'s shape (no alpha, beta or bias), timed to a read. */
async function benchTfjs(o: GemmOptions, repeats: number): Promise<number> {
  const a = tf.randomUniform(o.transA ? [o.k, o.m] : [o.m, o.k], -1, 1);
  const b = tf.randomUniform(o.transB ? [o.n, o.k] : [o.k, o.n], -1, 1);
  const once = () => tf.matMul(a, b, o.transA ?? false, o.transB ?? false);
  try {
    for (let i = 0; i < 2; i++) {
      const w = once();
      await w.data();
      w.dispose();
    }
    const start = performance.now();
    let last: tf.Tensor | undefined;
    for (let i = 0; i < repeats; i++) {
      last?.dispose();
      last = once();
    }
    await last!.data();
    const ms = (performance.now() - start) / repeats;
    last!.dispose();
    return ms;
  } finally {
    a.dispose();
    b.dispose();
  }
}

function parseShape(text: string): { d: number; f: number; b: number } {
  const p = text.split("/").map(Number);
  if (p.length !== 3 || p.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new UsageError(`--shape: expected d_model/d_sae/batch, got "${text}"`);
  }
  return { d: p[0], f: p[1], b: p[2] };
}

async function main(): Promise<number> {
  const program = new Command("gemm-bench")
    .description("GFLOP/s of the webgpu GEMM vs tfjs-webgpu tf.matMul for a training step")
    .option("--shape <d/f/b>", "d_model/d_sae/batch", "64/512/4096")
    .option("--repeats <n>", "timed products per measurement", parseIntFlag("--repeats", 1), 10)
    .option("--tiles", "time every tile in GEMM_TILES that fits, not only the chosen one")
    .option("--software", "with --tiles: only the software adapter tiles")
    .option("--products <list>", "comma-separated product numbers 1-5 (default all)")
    .option("--no-tfjs", "skip tfjs-webgpu")
    .exitOverride();
  program.parse(Deno.args, { from: "user" });
  const opts = program.opts<
    {
      shape: string;
      repeats: number;
      tiles?: boolean;
      software?: boolean;
      products?: string;
      tfjs: boolean;
    }
  >();
  const { d, f, b } = parseShape(opts.shape);
  const gpu = await openDevice();
  const tiles: (GemmTile | undefined)[] = opts.tiles
    ? GEMM_TILES.filter((t) => tileFits(t, gpu.limits) && (!opts.software || t.kind !== "tiled"))
    : [undefined];
  if (opts.tfjs) {
    await import("@tensorflow/tfjs-backend-webgpu");
    if (!await tf.setBackend("webgpu")) throw new Error("tfjs webgpu backend failed to start");
  }
  console.error(`adapter ${gpu.adapter}; B/D/F ${b}/${d}/${f}; ${opts.repeats} repeats`);
  const rows: Record<string, unknown>[] = [];
  const all = stepProducts(b, d, f);
  const picked = opts.products ? opts.products.split(",").map((x) => all[Number(x) - 1]) : all;
  if (picked.some((p) => !p)) {
    throw new UsageError(`--products: expected numbers 1-5, got "${opts.products}"`);
  }
  for (const p of picked) {
    const row: Record<string, unknown> = { product: p.name };
    const flops = 2 * p.options.m * p.options.n * p.options.k;
    for (const tile of tiles) {
      const t = await benchGemm(gpu.device, p.options, opts.repeats, tile);
      const key = tile ? tileName(tile) : "gemm";
      row[key] = Number(t.gflops.toFixed(2));
    }
    if (opts.tfjs) {
      const ms = await benchTfjs(p.options, opts.repeats);
      row.tfjs = Number((flops / (ms * 1e6)).toFixed(2));
    }
    rows.push(row);
    console.log(Object.entries(row).map(([k, v]) => `${k} ${v}`).join("  "));
  }
  console.log(JSON.stringify({ adapter: gpu.adapter, shape: { b, d, f }, gflops: rows }));
  return 0;
}

if (import.meta.main) await runMain(main);
