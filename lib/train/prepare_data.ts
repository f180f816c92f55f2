// Prepares the data a sweep's runs share before any of them starts: the activation caches of
// their lm data sections, sections that differ only in data.site / data.layer harvested from one
// forward pass (lib/lm/lm_caches.ts). Runs then find their caches and harvest nothing.
import { resolve } from "node:path";
import canonicalize from "canonicalize";
import type { DataProgress } from "../data/source.ts";
import type { LmData } from "../data/data_spec.ts";
import type { BackendName } from "../engine/names.ts";
import type { RunPlan } from "../sweep/plan.ts";

export interface PrepareDataOptions {
  /** tfjs backend for the forward passes (default: the first lm run's train.backend). */
  backend?: BackendName;
  onProgress?: (p: DataProgress) => void;
  /** Largest harvest allowed, in bytes (default: 80% of the memory available). */
  memoryLimitBytes?: number;
}

/** What was prepared: distinct lm data sections, and how many caches were harvested now. */
export interface PreparedData {
  sections: number;
  harvested: number;
}

/** Prepares the lm caches of `plans` (nothing to do without lm runs). */
export async function prepareSweepData(
  plans: readonly RunPlan[],
  options: PrepareDataOptions = {},
): Promise<PreparedData> {
  // One call per spec directory and eval.lm_sequences (both are inputs of the caches).
  const calls = new Map<string, { specDir: string; evalSequences: number; cfgs: LmData[] }>();
  const seen = new Set<string>();
  let first: RunPlan | undefined;
  for (const plan of plans) {
    const data = plan.config.data;
    if (data.source !== "lm") continue;
    first ??= plan;
    const evalSequences = plan.config.eval.lm_sequences;
    const specDir = resolve(plan.specDir);
    const id = canonicalize({ specDir, evalSequences })!;
    const section = canonicalize({ id, data })!;
    if (seen.has(section)) continue;
    seen.add(section);
    if (!calls.has(id)) calls.set(id, { specDir, evalSequences, cfgs: [] });
    calls.get(id)!.cfgs.push(data);
  }
  if (!first) return { sections: 0, harvested: 0 };
  const { selectBackend } = await import("../engine/reference/select_backend.ts");
  await selectBackend(options.backend ?? first.config.train.backend);
  const { prepareLmCaches } = await import("../lm/lm_caches.ts");
  let harvested = 0;
  for (const call of calls.values()) {
    const prepared = await prepareLmCaches(call.cfgs, {
      specDir: call.specDir,
      evalSequences: call.evalSequences,
      onProgress: options.onProgress,
      memoryLimitBytes: options.memoryLimitBytes,
    });
    harvested += prepared.filter((p) => p.harvested).length;
  }
  return { sections: seen.size, harvested };
}
