// Runs bench/reference_torch.py (the same training step in PyTorch, same thread count) for a list
// of benchmark configurations, after checking that torch imports and multiplies with a real BLAS.
import type { BenchConfig } from "./bench_config.ts";
import { denseStepFlops } from "./bench_config.ts";
import type { BenchResult } from "./measure_engine.ts";

/** How to enable the PyTorch comparison; printed when torch is missing or slow. */
export const TORCH_HINT = [
  "the PyTorch comparison needs torch with a real BLAS for /usr/bin/python3 (or --python PATH);",
  "on Debian/Ubuntu: sudo apt-get install -y python3-torch libopenblas0-pthread",
  "(python3-torch alone pulls a reference BLAS ~100x slower, which makes the comparison meaningless)",
].join("\n");

/** Below this torch GEMM speed the BLAS is taken to be the reference implementation. */
export const MIN_TORCH_GFLOPS = 5;

export interface TorchProbe {
  available: boolean;
  python: string;
  version?: string;
  /** Architectures bench/reference_torch.py implements (it raises on any other). */
  architectures?: string[];
  reason?: string;
}

const SCRIPT = new URL("../../bench/reference_torch.py", import.meta.url);

export async function probeTorch(python: string): Promise<TorchProbe> {
  try {
    const out = await new Deno.Command(python, {
      args: [
        "-c",
        "import json, sys; sys.path.insert(0, sys.argv[1]); import reference_torch as r; " +
        "print(json.dumps({'version': r.torch.__version__, 'architectures': list(r.ARCHITECTURES)}))",
        new URL(".", SCRIPT).pathname,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      return { available: false, python, reason: `${python} cannot import torch (${err})` };
    }
    const { version, architectures } = JSON.parse(new TextDecoder().decode(out.stdout));
    return { available: true, python, version, architectures };
  } catch (e) {
    return { available: false, python, reason: `${python} did not run (${(e as Error).message})` };
  }
}

export interface TorchRun {
  version: string;
  threads: number;
  /** torch's own float32 GEMM speed ([2048, 512] x [512, 2048]). */
  gemm_gflops: number;
  results: BenchResult[];
}

/** Runs every configuration in one Python process; `onResult` sees each as it arrives. */
export async function runTorchReference(
  configs: BenchConfig[],
  options: {
    python: string;
    steps: number;
    warmup: number;
    threads: number;
    onResult?: (r: BenchResult) => void;
  },
): Promise<TorchRun> {
  const payload = configs.map((c) => ({ ...c, steps: options.steps, warmup: options.warmup }));
  const child = new Deno.Command(options.python, {
    args: [SCRIPT.pathname, JSON.stringify(payload), "--threads", String(options.threads)],
    stdout: "piped",
    stderr: "piped",
    env: {
      OMP_NUM_THREADS: String(options.threads),
      OPENBLAS_NUM_THREADS: String(options.threads),
    },
  }).spawn();
  const lines: string[] = [];
  let header: { torch: string; threads: number; gemm_gflops: number } | undefined;
  const results: BenchResult[] = [];
  let buffer = "";
  const decoder = new TextDecoder();
  const stderrText = new Response(child.stderr).text();
  for await (const chunk of child.stdout) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      lines.push(line);
      const obj = JSON.parse(line);
      if (!header) {
        header = obj;
        continue;
      }
      const r: BenchResult = {
        ...obj,
        engine: "torch",
        gflops_effective: denseStepFlops(obj) / (obj.ms_per_step / 1000) / 1e9,
        ceiling_fraction: null,
        peak_rss_mb: null,
      };
      results.push(r);
      options.onResult?.(r);
    }
  }
  const status = await child.status;
  if (!status.success || !header) {
    const err = (await stderrText).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`bench/reference_torch.py failed (exit ${status.code}): ${err}`);
  }
  return {
    version: header.torch,
    threads: header.threads,
    gemm_gflops: header.gemm_gflops,
    results,
  };
}
