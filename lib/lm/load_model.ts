// Opens what `data.checkpoint` / `data.tokenizer` name: a llama2.c .bin with its tok*.bin, or a
// Hugging Face llama-family folder (config.json, safetensors, tokenizer.json). Also hashes the files
// read, for the activation cache key. The formats themselves are checkpoint.ts's and lib/lm/hf/'s.
import { join } from "node:path";
import { DataError } from "../errors.ts";
import { sha256Hex } from "./activation_cache.ts";
import { type LlamaCheckpoint, parseCheckpoint } from "./checkpoint.ts";
import { loadHfConfig } from "./hf/config.ts";
import { parseTokenizerJson } from "./hf/tokenizer_json.ts";
import { hfWeightFiles, readHfWeights } from "./hf/weights.ts";
import { parseTokenizer, type Tokenizer } from "./tokenizer.ts";

/** A loaded checkpoint, with what opening its tokenizer needs. */
export interface LoadedCheckpoint {
  checkpoint: LlamaCheckpoint;
  /** "llama2c": one .bin file; "hf": a Hugging Face folder. */
  format: "llama2c" | "hf";
  /** sha256 of the file, or of the folder's config.json and weight files' hashes. */
  sha256: string;
  /** The folder's tokenizer.json ("hf" only): used when data.tokenizer is null. */
  defaultTokenizer: string | null;
  /** bos/eos ids from config.json ("hf" only). */
  bosId: number | null;
  eosId: number | null;
}

/** Reads a checkpoint file or folder. */
export async function loadModelCheckpoint(path: string): Promise<LoadedCheckpoint> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (cause) {
    throw new DataError(`cannot read data.checkpoint ${path}: ${(cause as Error).message}`, {
      hint: "check data.checkpoint (paths are relative to the spec file)",
      cause,
    });
  }
  if (!info.isDirectory) {
    const bytes = await Deno.readFile(path);
    return {
      checkpoint: parseCheckpoint(bytes, { name: path }),
      format: "llama2c",
      sha256: await sha256Hex(bytes),
      defaultTokenizer: null,
      bosId: null,
      eosId: null,
    };
  }
  const hf = await loadHfConfig(path);
  const files = [join(path, "config.json"), ...await hfWeightFiles(path)];
  const weights = await readHfWeights(path, hf);
  const hashes = await Promise.all(files.map(async (f) => await sha256Hex(await Deno.readFile(f))));
  return {
    checkpoint: { config: hf.config, weights },
    format: "hf",
    sha256: await sha256Hex(new TextEncoder().encode(hashes.join("\n"))),
    defaultTokenizer: join(path, "tokenizer.json"),
    bosId: hf.bosId,
    eosId: hf.eosId,
  };
}

/**
 * Reads the tokenizer at `path` (a tok*.bin, or a tokenizer.json) for `model`; a null path means
 * the checkpoint folder's tokenizer.json. Returns it with the sha256 of its file.
 */
export async function loadModelTokenizer(
  path: string | null,
  model: LoadedCheckpoint,
): Promise<{ tokenizer: Tokenizer; sha256: string; path: string }> {
  const file = path ?? model.defaultTokenizer;
  if (file === null) {
    throw new DataError("data.tokenizer is not set, and a llama2.c checkpoint has no tokenizer", {
      hint: "set data.tokenizer to the tok*.bin exported with the checkpoint",
      exitCode: 2,
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch (cause) {
    throw new DataError(`cannot read tokenizer ${file}: ${(cause as Error).message}`, {
      hint: path === null
        ? "the checkpoint folder has no tokenizer.json; set data.tokenizer to one"
        : "check data.tokenizer (paths are relative to the spec file)",
      exitCode: 2,
      cause,
    });
  }
  const { vocabSize } = model.checkpoint.config;
  const tokenizer = file.endsWith(".json")
    ? parseTokenizerJson(new TextDecoder().decode(bytes), {
      name: file,
      bosId: model.bosId,
      eosId: model.eosId,
    })
    : parseTokenizer(bytes, { vocabSize, name: file });
  if (tokenizer.vocabSize > vocabSize) {
    throw new DataError(
      `${file}: ${tokenizer.vocabSize} tokens, but the checkpoint's vocab_size is ${vocabSize}`,
      { hint: "use the tokenizer saved with this checkpoint", exitCode: 2 },
    );
  }
  return { tokenizer, sha256: await sha256Hex(bytes), path: file };
}
