// `deno task cuda-check [--steps 3]`: on a machine with an NVIDIA GPU, checks the cuda engine
// against the cpu engine (portable TypeScript GEMM) over a few Adam steps on every parity variant
// it has kernels for (lib/bench/engine_parity.ts, the one parity harness; the k-sparse ones also
// with the sparse products forced on, "... (sparse)"), and that resuming from
// a snapshot gives byte-identical parameters, state and Adam moments on the cuda engine. Prints one
// line per check and a JSON line; exit 1 when a check fails, 2 when the engine cannot start.
// Bundled into the GPU bundle (run.sh's cuda stage), where tests/ is absent.
import { Command } from "commander";
import {
  cloneInit,
  compareRuns,
  makeParityCase,
  type ParityCase,
  portableCpuEngine,
  runEngine,
  webgpuParityVariants,
} from "../lib/bench/engine_parity.ts";
import { createEngine, engineChoice } from "../lib/engine/create_engine.ts";
import { cudaKernelMissing } from "../lib/engine/cuda/engine_plan.ts";
import { sparsePlan } from "../lib/engine/sparse_plan.ts";
import { cudaUnavailable } from "../lib/engine/cuda/create_cuda_engine.ts";
import type { EngineSnapshot } from "../lib/engine/engine.ts";
import type { InitResult } from "../lib/engine/types.ts";
import { BackendUnavailableError } from "../lib/errors.ts";
import { architectures, getArchitecture, REFERENCE_BASELINE } from "../lib/sae/registry.ts";
import { parseIntFlag, runMain } from "./_cli.ts";

interface CheckRow {
  check: "parity" | "resume";
  label: string;
  result: "PASS" | "FAIL" | "SKIP";
  worst: number | null;
  worstAt?: string;
  detail?: string;
}

/** The cuda engine for a case; `sparse` forces its sparse products on (else its own rule). */
function cudaEngine(c: ParityCase, init: InitResult, sparse?: boolean) {
  return createEngine(c.arch, init, {
    sae: c.sae,
    adamEps: 1e-8,
    gradClip: c.gradClip,
    batch: c.dims.b,
    engine: "cuda",
    ...(sparse ? { sparse } : {}),
  });
}

/** The first tensor whose bytes differ between two snapshots, or null when all are identical. */
function firstDifference(a: EngineSnapshot, b: EngineSnapshot): string | null {
  const groups = {
    params: [a.params, b.params],
    state: [a.state, b.state],
    "Adam m": [a.optimizer.m, b.optimizer.m],
    "Adam v": [a.optimizer.v, b.optimizer.v],
  } as const;
  for (const [group, [x, y]] of Object.entries(groups)) {
    for (const [name, t] of Object.entries(y)) {
      const p = new Uint32Array(x[name].data.buffer, x[name].data.byteOffset, x[name].data.length);
      const q = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      const at = p.findIndex((v, i) => v !== q[i]);
      if (at >= 0 || p.length !== q.length) return `${group} ${name} at ${at}`;
    }
  }
  return a.optimizer.t === b.optimizer.t ? null : `Adam t ${a.optimizer.t} vs ${b.optimizer.t}`;
}

/** Steps 1..n-1, snapshot, step n; a fresh engine restored from the snapshot steps n too. */
async function resumeCheck(c: ParityCase, sparse?: boolean): Promise<string | null> {
  const n = c.batches.length;
  const hyper = { lr: c.lr, lambda: c.lambda };
  const first = await cudaEngine(c, cloneInit(c.init), sparse);
  let mid: EngineSnapshot;
  let end: EngineSnapshot;
  try {
    for (let i = 0; i < n - 1; i++) first.step(c.batches[i], hyper);
    await first.readStats();
    mid = await first.snapshot();
    first.step(c.batches[n - 1], hyper);
    end = await first.snapshot();
  } finally {
    first.dispose();
  }
  const second = await cudaEngine(c, cloneInit(c.init), sparse);
  try {
    second.restore(mid);
    second.step(c.batches[n - 1], hyper);
    return firstDifference(await second.snapshot(), end);
  } finally {
    second.dispose();
  }
}

/** The sparse products the cuda engine takes for a case when forced on. */
function sparsePlanOf(c: ParityCase): { main: boolean; aux: boolean } {
  const step = c.arch.kernels!.webgpu!.step(c.sae, { d: c.dims.d, f: c.dims.f });
  return sparsePlan(step, { f: c.dims.f, software: false, sparse: true });
}

async function main(): Promise<number> {
  const program = new Command("cuda-check")
    .description("Check the cuda engine against the cpu engine, and its resume, on this GPU")
    .option("--steps <n>", "Adam steps per check", parseIntFlag("--steps", 2), 3)
    .option("--only <regex>", "check only the variants whose label matches")
    .option("--resume <regex>", "also check resume on each variant whose label matches")
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  program.parse(Deno.args, { from: "user" });
  const opts = program.opts<{ steps: number; only?: string; resume?: string }>();
  const only = opts.only === undefined ? null : new RegExp(opts.only);
  const resumeEach = opts.resume === undefined ? null : new RegExp(opts.resume);
  const why = cudaUnavailable(getArchitecture(REFERENCE_BASELINE));
  if (why) {
    throw new BackendUnavailableError(`engine cuda unavailable: ${why}`, {
      hint: "run this on a machine with an NVIDIA GPU (docs/GPU.md)",
    });
  }
  const rows: CheckRow[] = [];
  let device: string | undefined;
  const print = (r: CheckRow) => {
    rows.push(r);
    console.log(
      `${r.check} ${r.result} ${r.label}` +
        (r.worst === null ? "" : `: worst ${r.worst.toFixed(3)} of tolerance at ${r.worstAt}`) +
        (r.detail ? ` ${r.detail}` : ""),
    );
  };
  const resumed = new Set<string>();
  // Besides the harness's variants (half the latents dead from the start, so AuxK always runs):
  // every latent alive at first, dead_tokens two batches, so AuxK's work is skipped for two steps
  // (the engine's host bound on since_fired) and runs from the third.
  const kSparse = architectures().filter((a) => a.sparsity === "k" && a.kernels?.webgpu);
  const clockVariants = kSparse.map(({ name: arch }) => ({
    label: `${arch} AuxK from step 3 (fresh clock)`,
    arch,
    sae: { [arch]: { dead_tokens: 96 } },
    freshClock: true,
    gradClip: undefined,
  }));
  const dense = [...webgpuParityVariants(), ...clockVariants];
  // The k-sparse variants again with the sparse products forced on (list kernels for the decode,
  // the latent gradients and the weight gradients; at these small widths the rule may keep them
  // off), labelled "... (sparse)"; one whose code is not k-sparse enough is skipped.
  const kNames = new Set(kSparse.map((a) => a.name));
  const sparse = dense.filter((v) => kNames.has(v.arch)).map((v) => ({
    ...v,
    label: `${v.label} (sparse)`,
    sparse: true,
  }));
  const variants: ((typeof dense)[number] & { sparse?: boolean })[] = [...dense, ...sparse];
  for (const v of variants.filter((v) => !only || only.test(v.label))) {
    const base = { check: "parity" as const, label: v.label, worst: null };
    let c: ParityCase;
    try {
      c = makeParityCase(v.arch, {
        sae: v.sae,
        gradClip: v.gradClip,
        steps: "freshClock" in v ? Math.max(4, opts.steps) : opts.steps,
      });
      if ("freshClock" in v) c.init.state.since_fired.data.fill(0);
    } catch (e) {
      print({ ...base, result: "FAIL", detail: (e as Error).message });
      continue;
    }
    const missing = cudaKernelMissing(c.arch, c.sae) ??
      (v.sparse && !sparsePlanOf(c).main
        ? "code not k-sparse enough for the sparse products"
        : null);
    if (missing) {
      print({ ...base, result: "SKIP", detail: missing });
      continue;
    }
    try {
      const want = await runEngine(c, (init) => portableCpuEngine(c, init));
      const have = await runEngine(c, async (init) => {
        const e = await cudaEngine(c, init, v.sparse);
        device ??= engineChoice(e)?.device;
        return e;
      });
      const r = compareRuns(have, want);
      print({
        ...base,
        result: r.failures.length ? "FAIL" : "PASS",
        worst: r.worst,
        worstAt: r.worstAt,
        detail: r.failures.slice(0, 3).join("; ") || undefined,
      });
    } catch (e) {
      print({ ...base, result: "FAIL", detail: (e as Error).message.split("\n")[0] });
    }
    // Resume once per architecture and path (dense, sparse; at its defaults: the first variant of
    // each), and on each variant --resume names (labelled by the variant).
    const each = resumeEach?.test(v.label) ?? false;
    const key = v.sparse ? `${v.arch} (sparse)` : v.arch;
    if (!resumed.has(key) || each) {
      const label = resumed.has(key) ? v.label : key;
      resumed.add(key);
      try {
        const diff = await resumeCheck(c, v.sparse);
        print({
          check: "resume",
          label,
          result: diff ? "FAIL" : "PASS",
          worst: null,
          detail: diff ? `bytes differ: ${diff}` : "byte-identical",
        });
      } catch (e) {
        print({
          check: "resume",
          label,
          result: "FAIL",
          worst: null,
          detail: (e as Error).message.split("\n")[0],
        });
      }
    }
  }
  const failed = rows.filter((r) => r.result === "FAIL").length;
  console.log(
    `cuda check on ${device ?? "?"}: ${failed ? "FAIL" : "PASS"} (${
      rows.filter((r) => r.result === "PASS").length
    } passed, ${failed} failed, ${rows.filter((r) => r.result === "SKIP").length} skipped)`,
  );
  console.log(JSON.stringify({ device, deno: Deno.version.deno, steps: opts.steps, rows }));
  return failed ? 1 : 0;
}

if (import.meta.main) runMain(main);
