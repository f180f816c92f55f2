// The tiny hand-built feature case of fixtures/golden.json (made by fixtures/make_golden.py, an
// independent numpy implementation) as typed inputs for the feature tests. Private to tests/.
import { FEATURE_DEFAULTS, type FeatureOptions } from "../../lib/features/feature_data.ts";

interface Context {
  row: number;
  value: number;
  tokens: number[];
  acts: number[];
}

export interface GoldenCase {
  sequences: Int32Array[];
  firstPosition: number;
  rows: number;
  /** Dense latents [rows, F]. */
  f: Float32Array;
  width: number;
  options: FeatureOptions;
  unembed: Float32Array;
  finalNorm: Float32Array;
  decoder: Float32Array;
  dModel: number;
  expected: {
    frequency: number[];
    maxAct: number[];
    meanAct: number[];
    histogram: number[][];
    top: Context[][];
    promoted: number[][];
    promotedValues: number[][];
    suppressed: number[][];
    suppressedValues: number[][];
    measures: Record<string, number>;
  };
}

export async function loadGolden(): Promise<GoldenCase> {
  const raw = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/golden.json", import.meta.url)),
  );
  const flat = (m: number[][]) => Float32Array.from(m.flat());
  return {
    sequences: (raw.sequences as number[][]).map((s) => Int32Array.from(s)),
    firstPosition: raw.firstPosition,
    rows: raw.rows,
    f: flat(raw.f),
    width: raw.f[0].length,
    options: { ...FEATURE_DEFAULTS, ...raw.options },
    unembed: flat(raw.unembed),
    finalNorm: Float32Array.from(raw.finalNorm),
    decoder: flat(raw.decoder),
    dModel: raw.finalNorm.length,
    expected: raw.expected,
  };
}
