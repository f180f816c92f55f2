// `deno task gpu-bench`: times training steps (forward, backward, Adam, decoder renormalisation)
// per architecture and d_model/d_sae/batch shape on several engines in one run: the webgpu engine,
// the tfjs reference engine (on tfjs's webgpu backend by default; only at --reference-shapes, as it
// takes seconds per step) and optionally the cpu engine and the cuda engine (fp32, and `cuda-tf32`
// with its products on tensor cores). Prints ms/step and ratios, then one JSON
// line whose rows keep the webgpu engine's step_s for scripts/gpu_bundle/torch_reference.py.
// Compiled into the GPU bundle (tasks/gpu_bundle.ts).
import { Command, Option } from "commander";
import * as tf from "@tensorflow/tfjs";
import { describeBackend } from "../lib/engine/reference/backend_choice.ts";
import { type BackendChoice, selectBackend } from "../lib/engine/reference/select_backend.ts";
import { Rng } from "../lib/data/rng.ts";
import { UsageError } from "../lib/errors.ts";
import { architectureNames, getArchitecture } from "../lib/sae/registry.ts";
import { type BackendName, BACKENDS, saeSchema } from "../lib/spec/schema.ts";
import { createEngine, engineChoice } from "../lib/engine/create_engine.ts";
import { cloneInit } from "../lib/bench/engine_parity.ts";
import { probeWebGpu } from "../lib/engine/webgpu/adapter.ts";
import type { InitResult } from "../lib/engine/types.ts";
import { parseIntFlag, runMain } from "./_cli.ts";
import {
  DEFAULT_SHAPES,
  parseShapes,
  REFERENCE_SHAPES,
  type Shape,
  shapeKey,
} from "./_gpu_shapes.ts";

export { DEFAULT_SHAPES } from "./_gpu_shapes.ts";

const BENCH_ENGINES = ["webgpu", "reference", "cpu", "cuda", "cuda-tf32"] as const;
type BenchEngine = typeof BENCH_ENGINES[number];

/** One engine's timing of one architecture at one shape. */
interface EngineResult {
  /** Median seconds per step over the timed repeats (null: not timed). */
  step_s: number | null;
  tokens_per_s: number | null;
  /** Effective GFLOP/s of the three big matmuls forward and backward (6 * B * D * F * 2). */
  gflops: number | null;
  /** Engine.backend (`webgpu`, `webgpu` tfjs, `cpu-openblas`...). */
  backend?: string;
  /** Why it was not timed although asked for (no kernel for the architecture, shape excluded). */
  skipped?: string;
  error?: string;
}

interface BenchRow {
  arch: string;
  d: number;
  f: number;
  batch: number;
  /** The webgpu engine's median seconds per step (what torch_reference.py compares with). */
  step_s: number | null;
  tokens_per_s: number | null;
  gflops: number | null;
  engines: Partial<Record<BenchEngine, EngineResult>>;
  /** Step time of each other engine over the webgpu engine's (e.g. reference 350 = 350x slower). */
  ratios: Partial<Record<BenchEngine, number>>;
}

interface Timing {
  steps: number;
  warmup: number;
  repeats: number;
}

function parseList<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s);
  for (const n of names) {
    if (!allowed.includes(n as T)) {
      throw new UsageError(`${flag}: unknown name "${n}"`, {
        hint: `choose from ${allowed.join(", ")}`,
      });
    }
  }
  return names as T[];
}

/** Times `steps` steps (after `warmup`), `repeats` times, each ending with one statistics read. */
async function timeEngine(
  engine: BenchEngine,
  arch: string,
  shape: Shape,
  input: { init: InitResult; x: Float32Array },
  timing: Timing,
): Promise<EngineResult> {
  const a = getArchitecture(arch);
  const sae = saeSchema().parse({ architecture: arch, width: shape.f, target_l0: 32 });
  const e = await createEngine(a, cloneInit(input.init), {
    sae,
    adamEps: 1e-8,
    gradClip: null,
    engine: engine === "cuda-tf32" ? "cuda" : engine,
    precision: engine === "cuda-tf32" ? "tf32" : undefined,
    batch: shape.batch,
  });
  const hyper = { lr: 1e-4, lambda: 1e-3 };
  try {
    for (let i = 0; i < timing.warmup; i++) e.step(input.x, hyper);
    await e.readStats();
    const times: number[] = [];
    for (let r = 0; r < timing.repeats; r++) {
      const t0 = performance.now();
      for (let i = 0; i < timing.steps; i++) e.step(input.x, hyper);
      const stats = await e.readStats(); // waits for the device: GPU work is counted
      times.push((performance.now() - t0) / 1000 / timing.steps);
      if (!Number.isFinite(stats.loss)) throw new Error(`non-finite loss ${stats.loss}`);
    }
    const stepS = times.sort((p, q) => p - q)[Math.floor(times.length / 2)];
    return {
      step_s: stepS,
      tokens_per_s: shape.batch / stepS,
      gflops: 6 * shape.batch * shape.d * shape.f * 2 / stepS / 1e9,
      backend: engineChoice(e)?.backend ?? e.backend,
    };
  } finally {
    e.dispose();
  }
}

function untimed(fields: { skipped?: string; error?: string }): EngineResult {
  return { step_s: null, tokens_per_s: null, gflops: null, ...fields };
}

function ms(r: EngineResult | undefined): string {
  if (!r) return "";
  if (r.step_s !== null) return (r.step_s * 1000).toFixed(2);
  if (r.skipped) return /^no \w+ kernel/.test(r.skipped) ? "no kernel" : "-";
  return "failed";
}

function formatTable(rows: BenchRow[], engines: BenchEngine[]): string {
  const others = engines.filter((e) => e !== "webgpu");
  const head = [
    "arch",
    "d_model",
    "d_sae",
    "batch",
    ...engines.map((e) => `${e} ms`),
    ...(engines.includes("webgpu") ? others.map((e) => `${e}/webgpu`) : []),
    ...(engines.includes("webgpu") ? ["webgpu tok/s"] : []),
  ];
  const body = rows.map((r) => [
    r.arch,
    String(r.d),
    String(r.f),
    String(r.batch),
    ...engines.map((e) => ms(r.engines[e])),
    ...(engines.includes("webgpu")
      ? others.map((e) =>
        r.ratios[e] === undefined
          ? "-"
          : `${r.ratios[e]! >= 10 ? r.ratios[e]!.toFixed(0) : r.ratios[e]!.toPrecision(2)}x`
      )
      : []),
    ...(engines.includes("webgpu")
      ? [r.tokens_per_s === null ? "-" : Math.round(r.tokens_per_s).toString()]
      : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cells) => cells.map((c, i) => c.padStart(widths[i])).join("  "))
    .join("\n");
}

function errorLine(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

async function main(): Promise<number> {
  const program = new Command("gpu-bench")
    .description(
      "Time SAE training steps per architecture and shape on the webgpu, reference and cpu engines",
    )
    .option("--engines <list>", `engines to time (${BENCH_ENGINES.join(", ")})`, "webgpu,reference")
    .addOption(
      new Option("--backend <name>", "tfjs backend of the reference engine").choices(BACKENDS)
        .default("webgpu"),
    )
    .option("--shapes <list>", "comma-separated d_model/d_sae/batch", DEFAULT_SHAPES)
    .option(
      "--reference-shapes <list>",
      "shapes at which the reference engine is timed too (seconds per step on a GPU)",
      REFERENCE_SHAPES,
    )
    .option(
      "--reference-archs <list>",
      "architectures the reference engine is timed on (its BatchTopK can take minutes per step)",
      "jumprelu,topk",
    )
    .option("--arch <list>", "comma-separated architectures", architectureNames().join(","))
    .option("--steps <n>", "timed steps per repeat", parseIntFlag("--steps", 1), 20)
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
    .option(
      "--reference-steps <n>",
      "timed steps of the reference engine (one repeat, one warm-up step)",
      parseIntFlag("--reference-steps", 1),
      2,
    )
    .option(
      "--json-out <file>",
      "also write the JSON result to FILE, rewritten after each row (survives a time limit)",
    )
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse(Deno.args, { from: "user" });
  const opts = program.opts<
    {
      engines: string;
      backend: BackendName;
      shapes: string;
      referenceShapes: string;
      referenceArchs: string;
      arch: string;
      steps: number;
      warmup: number;
      repeats: number;
      referenceSteps: number;
      jsonOut?: string;
    }
  >();
  const engines = parseList("--engines", opts.engines, BENCH_ENGINES);
  const shapes = parseShapes(opts.shapes);
  const referenceShapes = new Set(
    parseShapes(opts.referenceShapes, "--reference-shapes").map(
      shapeKey,
    ),
  );
  const archs = parseList("--arch", opts.arch, architectureNames());
  const referenceArchs = new Set(
    parseList("--reference-archs", opts.referenceArchs, architectureNames()),
  );
  let backend: BackendChoice | undefined;
  if (engines.includes("reference")) {
    backend = await selectBackend(opts.backend);
    console.error(`reference engine: ${describeBackend(backend)}`);
  }
  const timings: Record<BenchEngine, Timing> = {
    webgpu: opts,
    cpu: opts,
    cuda: opts,
    "cuda-tf32": opts,
    reference: { steps: opts.referenceSteps, warmup: 1, repeats: 1 },
  };
  let adapter: string | undefined;
  if (engines.includes("webgpu")) {
    const p = await probeWebGpu();
    adapter = p.adapter ? `${p.adapter}${p.fallback ? " (software fallback)" : ""}` : p.reason;
    console.error(`webgpu adapter: ${adapter}`);
  }
  const rows: BenchRow[] = [];
  const result = () =>
    JSON.stringify({
      engines,
      adapter,
      backend,
      tfjs: tf.version.tfjs,
      deno: Deno.version.deno,
      steps: opts.steps,
      repeats: opts.repeats,
      rows,
    });
  for (const shape of shapes) {
    for (const arch of archs) {
      const a = getArchitecture(arch);
      const row: BenchRow = {
        arch,
        ...shape,
        step_s: null,
        tokens_per_s: null,
        gflops: null,
        engines: {},
        ratios: {},
      };
      const skipped = (engine: BenchEngine): string | null => {
        if (engine === "webgpu" && !a.kernels?.webgpu) return `no webgpu kernel for ${arch}`;
        if (engine === "cpu" && !a.kernels?.cpu) return `no cpu kernel for ${arch}`;
        if (engine.startsWith("cuda") && !a.kernels?.webgpu) return `no gpu kernel for ${arch}`;
        if (engine === "reference" && !referenceShapes.has(shapeKey(shape))) {
          return "shape not in --reference-shapes";
        }
        if (engine === "reference" && !referenceArchs.has(arch)) {
          return "architecture not in --reference-archs";
        }
        return null;
      };
      // The initial state and batch, built only when some engine is timed (seconds at 2304 x 16384).
      let input: { init: InitResult; x: Float32Array } | undefined;
      for (const engine of engines) {
        let r: EngineResult;
        const why = skipped(engine);
        if (why) {
          r = untimed({ skipped: why });
        } else {
          try {
            if (!input) {
              const sae = saeSchema().parse({ architecture: arch, width: shape.f, target_l0: 32 });
              const rng = new Rng(0, 0xbe7c);
              const init = a.init({ d: shape.d, f: shape.f }, { sae, rng });
              const x = new Float32Array(shape.d * shape.batch);
              for (let i = 0; i < x.length; i++) x[i] = rng.normal() / Math.sqrt(shape.d);
              input = { init, x };
            }
            r = await timeEngine(engine, arch, shape, input, timings[engine]);
          } catch (err) {
            r = untimed({ error: errorLine(err) });
          }
        }
        row.engines[engine] = r;
        console.error(
          `${arch} ${shapeKey(shape)} ${engine}: ` +
            (r.step_s !== null
              ? `${(r.step_s * 1000).toFixed(2)} ms/step`
              : r.skipped ?? `failed: ${r.error}`),
        );
      }
      const gpu = row.engines.webgpu;
      if (gpu?.step_s) {
        Object.assign(row, {
          step_s: gpu.step_s,
          tokens_per_s: gpu.tokens_per_s,
          gflops: gpu.gflops,
        });
        for (const e of engines) {
          const s = row.engines[e]?.step_s;
          if (e !== "webgpu" && s) row.ratios[e] = s / gpu.step_s;
        }
      }
      rows.push(row);
      if (opts.jsonOut) await Deno.writeTextFile(opts.jsonOut, result() + "\n");
    }
  }
  if (adapter) console.log(`webgpu adapter: ${adapter}`);
  console.log(formatTable(rows, engines));
  console.log(result());
  if (opts.jsonOut) await Deno.writeTextFile(opts.jsonOut, result() + "\n");
  const failed = rows.flatMap((r) => Object.values(r.engines)).filter((r) => r.error);
  return failed.length ? 1 : 0;
}

if (import.meta.main) runMain(main);
