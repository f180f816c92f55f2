// `deno task gpu-bench`: times reference-engine training steps (forward, backward, Adam, decoder
// renormalisation) per architecture and shape on one tfjs backend (webgpu by default) and prints a
// table, then one JSON line. Compiled into the GPU bundle (tasks/gpu_bundle.ts).
// Shapes are d_model/d_sae/batch.
import { Command, Option } from "commander";
import * as tf from "@tensorflow/tfjs";
import { describeBackend } from "../lib/engine/reference/backend_choice.ts";
import { selectBackend } from "../lib/engine/reference/select_backend.ts";
import { Rng } from "../lib/data/rng.ts";
import { UsageError } from "../lib/errors.ts";
import { architectureNames, getArchitecture } from "../lib/sae/registry.ts";
import { type BackendName, BACKENDS, saeSchema } from "../lib/spec/schema.ts";
import { TfjsEngine } from "../lib/engine/reference/tfjs_engine.ts";
import { parseIntFlag, runMain } from "./_cli.ts";

/** The speed issue's shapes plus Gemma-2-2B's residual width (2304). */
export const DEFAULT_SHAPES =
  "64/512/4096,256/2048/4096,512/4096/4096,768/16384/1024,2304/16384/4096";

interface Shape {
  d: number;
  f: number;
  batch: number;
}

interface BenchRow {
  arch: string;
  d: number;
  f: number;
  batch: number;
  /** Median seconds per step over the timed repeats. */
  step_s: number | null;
  tokens_per_s: number | null;
  /** Effective GFLOP/s of the three big matmuls forward and backward (6 * B * D * F * 2). */
  gflops: number | null;
  error?: string;
}

function parseShapes(text: string): Shape[] {
  return text.split(",").map((s) => {
    const parts = s.trim().split("/").map(Number);
    if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new UsageError(`--shapes: expected d_model/d_sae/batch, got "${s}"`);
    }
    return { d: parts[0], f: parts[1], batch: parts[2] };
  });
}

function parseArchs(text: string): string[] {
  const names = text.split(",").map((s) => s.trim());
  for (const n of names) {
    if (!architectureNames().includes(n)) {
      throw new UsageError(`--arch: unknown architecture "${n}"`, {
        hint: `choose from ${architectureNames().join(", ")}`,
      });
    }
  }
  return names as string[];
}

/** Times `steps` training steps (after `warmup`), `repeats` times; one device read per repeat. */
async function benchOne(
  arch: string,
  shape: Shape,
  options: { steps: number; warmup: number; repeats: number },
): Promise<BenchRow> {
  const sae = saeSchema().parse({ architecture: arch, width: shape.f, target_l0: 32 });
  const a = getArchitecture(arch);
  const rng = new Rng(0, 0xbe7c);
  const init = a.init({ d: shape.d, f: shape.f }, { sae, rng });
  const x = new Float32Array(shape.d * shape.batch);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal() / Math.sqrt(shape.d);
  const engine = new TfjsEngine(a, init, { sae, adamEps: 1e-8, gradClip: null });
  const hyper = { lr: 1e-4, lambda: 1e-3 };
  try {
    for (let i = 0; i < options.warmup; i++) engine.step(x, hyper);
    await engine.readStats();
    const times: number[] = [];
    for (let r = 0; r < options.repeats; r++) {
      const t0 = performance.now();
      for (let i = 0; i < options.steps; i++) engine.step(x, hyper);
      const stats = await engine.readStats(); // waits for the device
      times.push((performance.now() - t0) / 1000 / options.steps);
      if (!Number.isFinite(stats.loss)) throw new Error(`non-finite loss ${stats.loss}`);
    }
    const stepS = times.sort((p, q) => p - q)[Math.floor(times.length / 2)];
    const flops = 6 * shape.batch * shape.d * shape.f * 2;
    return {
      arch,
      ...shape,
      step_s: stepS,
      tokens_per_s: shape.batch / stepS,
      gflops: flops / stepS / 1e9,
    };
  } finally {
    engine.dispose();
  }
}

function formatTable(rows: BenchRow[]): string {
  const head = ["arch", "d_model", "d_sae", "batch", "ms/step", "tokens/s", "GFLOP/s"];
  const body = rows.map((r) => [
    r.arch,
    String(r.d),
    String(r.f),
    String(r.batch),
    r.step_s === null ? "-" : (r.step_s * 1000).toFixed(2),
    r.tokens_per_s === null
      ? (r.error ?? "failed").slice(0, 60)
      : Math.round(r.tokens_per_s).toString(),
    r.gflops === null ? "-" : r.gflops.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padStart(widths[i])).join("  "))
    .join("\n");
}

async function main(): Promise<number> {
  const program = new Command("gpu-bench")
    .description("Time reference-engine SAE training steps per architecture and shape")
    .addOption(
      new Option("--backend <name>", "tfjs backend").choices(BACKENDS).default("webgpu"),
    )
    .option("--shapes <list>", "comma-separated d_model/d_sae/batch", DEFAULT_SHAPES)
    .option("--arch <list>", "comma-separated architectures", architectureNames().join(","))
    .option("--steps <n>", "timed steps per repeat", parseIntFlag("--steps", 1), 10)
    .option(
      "--warmup <n>",
      "untimed steps first (shader compilation)",
      parseIntFlag("--warmup", 0),
      3,
    )
    .option(
      "--repeats <n>",
      "timed repeats (the median is reported)",
      parseIntFlag("--repeats", 1),
      3,
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse(Deno.args, { from: "user" });
  const opts = program.opts<
    {
      backend: BackendName;
      shapes: string;
      arch: string;
      steps: number;
      warmup: number;
      repeats: number;
    }
  >();
  const shapes = parseShapes(opts.shapes);
  const archs = parseArchs(opts.arch);
  const choice = await selectBackend(opts.backend);
  console.error(describeBackend(choice));
  const rows: BenchRow[] = [];
  for (const shape of shapes) {
    for (const arch of archs) {
      let row: BenchRow;
      try {
        row = await benchOne(arch, shape, opts);
      } catch (err) {
        const error = err instanceof Error ? err.message.split("\n")[0] : String(err);
        row = { arch, ...shape, step_s: null, tokens_per_s: null, gflops: null, error };
      }
      rows.push(row);
      console.error(
        `${arch} ${shape.d}/${shape.f}/${shape.batch}: ` +
          (row.step_s === null
            ? `failed: ${row.error}`
            : `${(row.step_s * 1000).toFixed(2)} ms/step`),
      );
    }
  }
  console.log(formatTable(rows));
  console.log(JSON.stringify({
    backend: choice,
    tfjs: tf.version.tfjs,
    deno: Deno.version.deno,
    steps: opts.steps,
    repeats: opts.repeats,
    rows,
  }));
  return rows.some((r) => r.step_s === null) ? 1 : 0;
}

if (import.meta.main) runMain(main);
