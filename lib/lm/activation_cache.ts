// The on-disk cache of harvested LM activations: a directory named by a sha256 of every input that
// determines the activations, holding safetensors shards and a manifest. Written atomically (a
// temporary directory renamed into place), so a directory that exists is always complete.
import { DataError } from "../errors.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import { pathExists } from "../store/atomic.ts";

/** Bump when the harvest or forward pass changes what a cache directory contains. */
export const CACHE_FORMAT_VERSION = 1;
const MANIFEST = "manifest.json";
/** Rows per safetensors shard (16 MiB at d_model 64). */
const SHARD_ROWS = 65536;
/** Tensor name inside each shard. */
export const ACTIVATIONS_TENSOR = "activations";

/** Everything that determines the harvested activations (file contents by sha256). */
export interface CacheInputs {
  checkpoint_sha256: string;
  tokenizer_sha256: string;
  train_text_sha256: string[];
  heldout_text_sha256: string[];
  site: string;
  layer: number;
  context: number;
  train_tokens: number;
  heldout_tokens: number;
  exclude_bos: boolean;
  /** Held-out sequences reserved for LM evaluation (their documents are kept out of training). */
  eval_sequences: number;
  /** Sampling settings of a sampled part (absent for text files, so their keys are unchanged). */
  train_sample?: Record<string, number>;
  heldout_sample?: Record<string, number>;
}

export interface CacheManifest {
  format: "saesweep-lm-activations";
  version: number;
  key: string;
  inputs: CacheInputs;
  d_model: number;
  train_rows: number;
  heldout_rows: number;
  /** Shard files of each part, in row order. */
  shards: { train: { file: string; rows: number }[]; heldout: { file: string; rows: number }[] };
  /** Facts about the harvest (document counts); not part of the key. */
  info: Record<string, number>;
}

export interface CachedActivations {
  manifest: CacheManifest;
  /** Training activations, row-major [train_rows, d_model]. */
  train: Float32Array;
  /** Held-out activations, row-major [heldout_rows, d_model]. */
  heldout: Float32Array;
}

/** Lower-case hex sha256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Cache directory name: sha256 of the format version and the inputs in a fixed key order. */
export async function cacheKey(inputs: CacheInputs): Promise<string> {
  const ordered = Object.fromEntries(
    Object.entries({ format_version: CACHE_FORMAT_VERSION, ...inputs }).sort(([a], [b]) =>
      a < b ? -1 : 1
    ),
  );
  return await sha256Hex(new TextEncoder().encode(JSON.stringify(ordered)));
}

/** Whether a complete cache directory is at `dir` (its manifest is written last). */
export async function activationCacheExists(dir: string): Promise<boolean> {
  try {
    await Deno.stat(`${dir}/${MANIFEST}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Reads a complete cache directory, or returns null when there is none at `dir`. */
export async function readActivationCache(dir: string): Promise<CachedActivations | null> {
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${dir}/${MANIFEST}`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new DataError(`unreadable activation cache ${dir}: ${(err as Error).message}`, {
      hint: "delete that directory; the activations are harvested again on the next run",
      cause: err,
    });
  }
  if (manifest.format !== "saesweep-lm-activations" || manifest.version !== CACHE_FORMAT_VERSION) {
    throw new DataError(`activation cache ${dir} has an unknown format`, {
      hint: "delete that directory; the activations are harvested again on the next run",
    });
  }
  const D = manifest.d_model;
  const readPart = async (shards: { file: string; rows: number }[], rows: number) => {
    const out = new Float32Array(rows * D);
    let at = 0;
    for (const shard of shards) {
      const t = (await readSafetensors(`${dir}/${shard.file}`, { names: [ACTIVATIONS_TENSOR] }))[
        ACTIVATIONS_TENSOR
      ];
      if (t.shape[0] !== shard.rows || t.shape[1] !== D) {
        throw new DataError(`activation cache shard ${dir}/${shard.file} has shape [${t.shape}]`, {
          hint: "delete that directory; the activations are harvested again on the next run",
        });
      }
      out.set(t.data, at * D);
      at += shard.rows;
    }
    return out;
  };
  return {
    manifest,
    train: await readPart(manifest.shards.train, manifest.train_rows),
    heldout: await readPart(manifest.shards.heldout, manifest.heldout_rows),
  };
}

/**
 * Writes a cache directory `${cacheDir}/${key}` atomically. If another process completed the same
 * directory first, keeps theirs (the contents are identical by construction).
 */
export async function writeActivationCache(
  cacheDir: string,
  data: {
    key: string;
    inputs: CacheInputs;
    dModel: number;
    train: Float32Array;
    heldout: Float32Array;
    info: Record<string, number>;
  },
): Promise<void> {
  const D = data.dModel;
  await Deno.mkdir(cacheDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: cacheDir, prefix: `.tmp-${data.key.slice(0, 16)}-` });
  await Deno.chmod(tmp, 0o755); // makeTempDir creates it owner-only
  try {
    const writePart = async (name: string, values: Float32Array) => {
      const rows = values.length / D;
      const shards: { file: string; rows: number }[] = [];
      for (let start = 0, i = 0; start < rows || i === 0; start += SHARD_ROWS, i++) {
        const n = Math.min(SHARD_ROWS, rows - start);
        const file = `${name}-${String(i).padStart(5, "0")}.safetensors`;
        await writeSafetensors(`${tmp}/${file}`, {
          [ACTIVATIONS_TENSOR]: {
            dtype: "F32",
            shape: [n, D],
            data: values.subarray(start * D, (start + n) * D),
          },
        });
        shards.push({ file, rows: n });
      }
      return shards;
    };
    const manifest: CacheManifest = {
      format: "saesweep-lm-activations",
      version: CACHE_FORMAT_VERSION,
      key: data.key,
      inputs: data.inputs,
      d_model: D,
      train_rows: data.train.length / D,
      heldout_rows: data.heldout.length / D,
      shards: {
        train: await writePart("train", data.train),
        heldout: await writePart("heldout", data.heldout),
      },
      info: data.info,
    };
    await Deno.writeTextFile(`${tmp}/${MANIFEST}`, JSON.stringify(manifest, null, 2) + "\n");
    try {
      await Deno.rename(tmp, `${cacheDir}/${data.key}`);
    } catch (err) {
      // Lost a race with another harvest of the same inputs: theirs is complete, use it.
      if (await pathExists(`${cacheDir}/${data.key}/${MANIFEST}`)) return;
      throw err;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}
