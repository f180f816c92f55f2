// Finds the data files a sweep names that do not exist, so a sweep can refuse to start (and write
// nothing) instead of failing every run one by one.
import { resolve } from "node:path";
import type { RunPlan } from "./plan.ts";
import type { DataSpec } from "../data/data_spec.ts";

/** Dotted spec path and the file or directory it must name, for one data section. */
function dataPaths(data: DataSpec): [string, string][] {
  switch (data.source) {
    case "synthetic":
      return [];
    case "files":
      return [["data.path", data.path]];
    case "lm":
      return [
        ["data.checkpoint", data.checkpoint],
        ["data.tokenizer", data.tokenizer],
        ...data.train_text.map((p, i) => [`data.train_text[${i}]`, p] as [string, string]),
        ...data.heldout_text.map((p, i) => [`data.heldout_text[${i}]`, p] as [string, string]),
      ];
  }
}

/** `path: absolute file` for every data path of the plans that does not exist (each once). */
export async function missingDataPaths(plans: readonly RunPlan[]): Promise<string[]> {
  const seen = new Set<string>();
  const missing: string[] = [];
  for (const plan of plans) {
    for (const [key, rel] of dataPaths(plan.config.data)) {
      const abs = resolve(plan.specDir, rel);
      if (seen.has(abs)) continue;
      seen.add(abs);
      try {
        await Deno.stat(abs);
      } catch {
        missing.push(`${key}: ${abs}`);
      }
    }
  }
  return missing;
}
