// The `data` section of the spec language: where activations come from (synthetic, files, lm),
// each source's options with defaults and one documented line per key. lib/spec composes it.
import { z } from "zod";

const positiveInt = () => z.int().min(1);
const fraction = () => z.number().min(0).max(1);

export const SyntheticData = z.strictObject({
  source: z.literal("synthetic"),
  d_model: positiveInt().default(32).describe("Activation dimension D of the generated vectors"),
  n_features: positiveInt().default(256).describe(
    "Number of ground-truth feature directions (random unit vectors in R^D)",
  ),
  mean_active: z.number().positive().default(8).describe(
    "Expected number of active true features per token; sets the scale of the firing probabilities",
  ),
  firing_exponent: z.number().min(0).default(0.5).describe(
    "Power-law exponent: feature i fires with probability proportional to (i + 1)^-exponent",
  ),
  magnitude_mean: z.number().positive().default(1).describe(
    "Mean magnitude of an active feature (magnitudes are non-negative)",
  ),
  magnitude_std: z.number().min(0).default(0.25).describe(
    "Standard deviation of active magnitudes, before clipping at zero",
  ),
  correlated_groups: z.int().min(0).default(0).describe(
    "Number of groups of features that tend to fire together (0 disables correlation)",
  ),
  group_size: z.int().min(2).default(4).describe("Features per correlated group"),
  group_prob: fraction().default(0.5).describe(
    "Probability that the other members of a group also fire when its first member fires",
  ),
  noise_std: z.number().min(0).default(0.01).describe(
    "Standard deviation of isotropic Gaussian noise added to every dimension",
  ),
  seed: z.int().min(0).default(1234).describe(
    "Seed of the data generator (feature directions, firing, held-out set); independent of train.seed",
  ),
});

export const FilesData = z.strictObject({
  source: z.literal("files"),
  path: z.string().min(1).describe(
    "A .npy or .safetensors file, or a directory of them (shards); relative to the spec file",
  ),
  tensor: z.string().nullable().default(null).describe(
    "Name of the tensor inside .safetensors files (null: the only tensor)",
  ),
  heldout_fraction: z.number().gt(0).lt(1).default(0.05).describe(
    "Fraction of rows (taken by shard/document, deterministically) held out for evaluation; not used when heldout_path is set",
  ),
  heldout_path: z.string().min(1).nullable().default(null).describe(
    "A .npy / .safetensors file or a directory of them held out for evaluation (null: split data.path by heldout_fraction); every row of data.path then trains, and the two may share no file; relative to the spec file",
  ),
  shuffle_buffer: positiveInt().default(65536).describe(
    "Rows in the shuffle buffer of the training stream: whole 1024-row chunks are read in a random order, a window of this many rows at a time, and the window's rows are permuted. Memory: shuffle_buffer x (4 x d_model + 4) bytes (float32 rows and their order), e.g. 268 MB at d_model 1024; the normalisation sample holds a second window while it is read",
  ),
});

export const LM_SITES = ["resid_pre", "resid_post", "attn_out", "mlp_out"] as const;

/** Text sampled from the model itself instead of read from files (lib/lm/sampled_corpus.ts). */
export const SampledText = z.strictObject({
  sample: z.strictObject({
    sequences: positiveInt().describe("Sequences to sample from BOS"),
    length: z.int().min(2).describe(
      "Tokens per sequence, the leading BOS included (at most the model's seq_len); data.context does not apply",
    ),
    temperature: z.number().min(0).describe(
      "Softmax temperature (0: argmax, the same sequence every time)",
    ),
    top_p: z.number().gt(0).max(1).default(1).describe(
      "Nucleus sampling: draw from the most likely tokens whose probability reaches top_p (1: all)",
    ),
    seed: z.int().min(0).describe(
      "Seed of the sampling; sequence i draws from its own stream, so a corpus is the same on any machine",
    ),
  }).describe(
    "Sample the text with the model's own forward pass (KV-cached, cached on disk like activations)",
  ),
});

export const LmData = z.strictObject({
  source: z.literal("lm"),
  checkpoint: z.string().min(1).describe(
    "llama2.c checkpoint (legacy .bin export), or a local Hugging Face llama-family folder " +
      "(Llama, Mistral, Qwen2: config.json, model.safetensors or shards with their index, " +
      "tokenizer.json; F32/F16/BF16 weights); relative to the spec file",
  ),
  tokenizer: z.string().min(1).nullable().default(null).describe(
    "llama2.c tokenizer (.bin) or a Hugging Face tokenizer.json; null: the checkpoint folder's " +
      "tokenizer.json (required for a .bin checkpoint); relative to the spec file",
  ),
  train_text: z.union([z.array(z.string().min(1)).min(1), SampledText]).describe(
    "Text files to harvest training activations from, documents split on <|endoftext|>; or {sample: ...} to sample the text from the model",
  ),
  heldout_text: z.union([z.array(z.string().min(1)).min(1), SampledText]).describe(
    "Text files for held-out activations and delta LM loss, or {sample: ...} with a seed other than the training sample's",
  ),
  site: z.enum(LM_SITES).default("resid_post").describe(
    "Hook point: residual stream before/after the block, attention output or MLP output",
  ),
  layer: z.int().min(0).default(2).describe("Block index of the hook point (0-based)"),
  context: positiveInt().default(256).describe("Tokens per sequence (documents are truncated)"),
  train_tokens: positiveInt().default(200000).describe(
    "Activation vectors to harvest for training (cycled if training needs more)",
  ),
  heldout_tokens: positiveInt().default(8192).describe(
    "Held-out activation vectors for reconstruction metrics",
  ),
  exclude_bos: z.boolean().default(true).describe(
    "Drop BOS positions from training and evaluation",
  ),
  cache_dir: z.string().default(".cache/activations").describe(
    "Where harvested activation shards are cached, keyed by a hash of the inputs; relative to the spec file",
  ),
});

export const DataSpec = z.discriminatedUnion("source", [SyntheticData, FilesData, LmData]);

export type DataSpec = z.output<typeof DataSpec>;
export type SyntheticData = z.output<typeof SyntheticData>;
export type FilesData = z.output<typeof FilesData>;
export type LmData = z.output<typeof LmData>;
export type SampledText = z.output<typeof SampledText>;

/** The text files an lm part names (none when it is sampled). */
export function textFiles(text: string[] | SampledText): string[] {
  return Array.isArray(text) ? text : [];
}
