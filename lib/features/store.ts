// Writes and reads a run's feature data: `features/features.safetensors` (the per-latent arrays;
// context activations as F16) and `features/features.json` (counts, options, vocabulary, measures).
import { join } from "node:path";
import { DataError } from "../errors.ts";
import {
  readSafetensors,
  type SafetensorsTensor,
  writeSafetensors,
} from "../formats/safetensors.ts";
import { writeJsonAtomic } from "../store/atomic.ts";
import { contextSlots, type FeatureData, windowLength } from "./feature_data.ts";
import type { FeatureMeasures } from "./measures.ts";

/** Directory of the feature data inside a run directory, and its files. */
export const FEATURE_FILES = {
  dir: "features",
  arrays: "features.safetensors",
  info: "features.json",
} as const;

/** Version of the layout below; readers refuse other versions. */
export const FEATURE_FORMAT_VERSION = 1;

/** `features.json`. */
export interface FeatureInfo {
  format_version: number;
  rows: number;
  width: number;
  options: FeatureData["options"];
  vocab: string[];
  measures: FeatureMeasures;
}

type ArrayKey = {
  [K in keyof FeatureData]: FeatureData[K] extends Float32Array ? K : never;
}[keyof FeatureData];

/** Tensor name, array, dtype and shape of each stored array. */
function tensorsOf(data: FeatureData): Record<string, SafetensorsTensor> {
  const F = data.width, o = data.options;
  const C = contextSlots(o), W = windowLength(o), L = data.promotedIds.length / Math.max(F, 1);
  const shapes: [ArrayKey, number[], "F32" | "F16"][] = [
    ["frequency", [F], "F32"],
    ["maxAct", [F], "F32"],
    ["meanAct", [F], "F32"],
    ["histogram", [F, o.bins], "F32"],
    ["contextTokens", [F, C, W], "F32"],
    ["contextActs", [F, C, W], "F16"],
    ["contextValue", [F, C], "F32"],
    ["contextRow", [F, C], "F32"],
    ["promotedIds", [F, L], "F32"],
    ["promotedValues", [F, L], "F32"],
    ["suppressedIds", [F, L], "F32"],
    ["suppressedValues", [F, L], "F32"],
  ];
  return Object.fromEntries(
    shapes.map(([key, shape, dtype]) => [key, { dtype, shape, data: data[key] }]),
  );
}

/** Writes `runDir/features/` (atomically per file). */
export async function writeFeatureData(
  runDir: string,
  data: FeatureData,
  measures: FeatureMeasures,
): Promise<void> {
  const dir = join(runDir, FEATURE_FILES.dir);
  await Deno.mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, FEATURE_FILES.arrays), tensorsOf(data));
  const info: FeatureInfo = {
    format_version: FEATURE_FORMAT_VERSION,
    rows: data.rows,
    width: data.width,
    options: data.options,
    vocab: data.vocab,
    measures,
  };
  await writeJsonAtomic(join(dir, FEATURE_FILES.info), info);
}

/** Reads `runDir/features/`, or null when the run has none. */
export async function readFeatureData(
  runDir: string,
): Promise<{ data: FeatureData; measures: FeatureMeasures } | null> {
  const dir = join(runDir, FEATURE_FILES.dir);
  let info: FeatureInfo;
  try {
    info = JSON.parse(await Deno.readTextFile(join(dir, FEATURE_FILES.info)));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new DataError(`cannot read ${join(dir, FEATURE_FILES.info)}: ${String(err)}`);
  }
  if (info.format_version !== FEATURE_FORMAT_VERSION) {
    throw new DataError(
      `${dir}: feature data format ${info.format_version}, expected ${FEATURE_FORMAT_VERSION}`,
      { hint: "retrain the run, or report it with the saesweep version that wrote it" },
    );
  }
  const t = await readSafetensors(join(dir, FEATURE_FILES.arrays));
  const get = (k: ArrayKey) => {
    if (!t[k]) throw new DataError(`${dir}/${FEATURE_FILES.arrays}: no tensor ${k}`);
    return t[k].data;
  };
  const data: FeatureData = {
    rows: info.rows,
    width: info.width,
    options: info.options,
    vocab: info.vocab,
    frequency: get("frequency"),
    maxAct: get("maxAct"),
    meanAct: get("meanAct"),
    histogram: get("histogram"),
    contextTokens: get("contextTokens"),
    contextActs: get("contextActs"),
    contextValue: get("contextValue"),
    contextRow: get("contextRow"),
    promotedIds: get("promotedIds"),
    promotedValues: get("promotedValues"),
    suppressedIds: get("suppressedIds"),
    suppressedValues: get("suppressedValues"),
  };
  return { data, measures: info.measures };
}
