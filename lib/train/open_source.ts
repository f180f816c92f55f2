// Opens the activation source a run's `data` section names (synthetic | files | lm); lives beside the
// trainer so that lib/data and lib/lm need not know each other.
import type { DataSpec } from "../spec/schema.ts";
import type { ActivationSource } from "../data/source.ts";
import { createSyntheticSource } from "../data/synthetic.ts";
import type { DataProgress } from "../data/source.ts";

export interface OpenSourceOptions {
  /** Directory of the spec file: relative data paths resolve against it. */
  specDir: string;
  /** Seed of the training stream's order (the run's train.seed). */
  streamSeed: number;
  /** Held-out sequences used for LM cross-entropy evaluation. */
  evalSequences?: number;
  /** Progress of a long preparation of the data (sampling, harvesting). */
  onDataProgress?: (p: DataProgress) => void;
}

export async function openSource(
  data: DataSpec,
  options: OpenSourceOptions,
): Promise<ActivationSource> {
  switch (data.source) {
    case "synthetic":
      return createSyntheticSource(data, { streamSeed: options.streamSeed });
    case "files": {
      const { openFilesSource } = await import("../data/files.ts");
      return await openFilesSource(data, options);
    }
    case "lm": {
      const { openLmSource } = await import("../lm/source.ts");
      return await openLmSource(data, {
        specDir: options.specDir,
        streamSeed: options.streamSeed,
        evalSequences: options.evalSequences ?? 32,
        onProgress: options.onDataProgress,
      });
    }
  }
}
