// Reads a Hugging Face llama-family config.json (Llama, Mistral, Qwen2) into the LlamaConfig the
// forward pass uses, refusing what that pass does not compute. Weights are lib/lm/hf/weights.ts's.
import { DataError } from "../../errors.ts";
import type { LlamaConfig } from "../checkpoint.ts";

/** model_type -> the architecture class transformers writes for it. */
const SUPPORTED: Record<string, string> = {
  llama: "LlamaForCausalLM",
  mistral: "MistralForCausalLM",
  qwen2: "Qwen2ForCausalLM",
};

/**
 * Longest context this loader builds RoPE tables for (the tables are [seq_len, d_model] floats);
 * a config's max_position_embeddings above it becomes this seq_len.
 */
export const MAX_CONTEXT = 4096;

/** What config.json says, as the forward pass and the tokenizer need it. */
export interface HfModelConfig {
  config: LlamaConfig;
  /** model_type (llama, mistral or qwen2). */
  modelType: string;
  /** Whether q/k/v projections carry biases (Qwen2 always; Llama when attention_bias). */
  attentionBias: boolean;
  /** bos_token_id / eos_token_id (the first when a list), null when absent. */
  bosId: number | null;
  eosId: number | null;
}

const HINT = "data.checkpoint may be a Hugging Face folder of a llama-family model " +
  "(LlamaForCausalLM, MistralForCausalLM or Qwen2ForCausalLM) with config.json, " +
  "*.safetensors and tokenizer.json";

/** Reads and validates `<dir>/config.json`. */
export async function loadHfConfig(dir: string): Promise<HfModelConfig> {
  const path = `${dir}/config.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new DataError(`cannot read ${path}: ${(cause as Error).message}`, {
      hint: HINT,
      exitCode: 2,
      cause,
    });
  }
  return parseHfConfig(text, { path });
}

/** Parses config.json text; `path` labels error messages. Collects every problem first. */
export function parseHfConfig(text: string, options: { path: string }): HfModelConfig {
  const { path } = options;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DataError(`${path}: not valid JSON (${(err as Error).message})`, {
      hint: "config.json must be the file transformers writes with save_pretrained()",
      exitCode: 2,
    });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new DataError(`${path}: expected a JSON object`, { hint: HINT, exitCode: 2 });
  }
  const c = raw as Record<string, unknown>;
  const modelType = c.model_type;
  const architectures = Array.isArray(c.architectures) ? c.architectures : [];
  if (typeof modelType !== "string" || !(modelType in SUPPORTED)) {
    throw new DataError(
      `${path}: unsupported architecture (model_type ${JSON.stringify(modelType)}, ` +
        `architectures ${JSON.stringify(c.architectures ?? null)})`,
      { hint: HINT, exitCode: 2 },
    );
  }
  const unsupportedClass = architectures.find((a) => a !== SUPPORTED[modelType]);
  if (unsupportedClass !== undefined) {
    throw new DataError(
      `${path}: unsupported architecture ${JSON.stringify(unsupportedClass)} for model_type ` +
        `${modelType}`,
      { hint: `expected architectures ["${SUPPORTED[modelType]}"]; ${HINT}`, exitCode: 2 },
    );
  }

  const problems: string[] = [];
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      problems.push(`${key} = ${JSON.stringify(c[key] ?? null)} is not a positive integer`);
      return 1;
    }
    return v as number;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== "number" || !(v > 0)) {
      problems.push(`${key} = ${JSON.stringify(c[key])} is not a positive number`);
      return fallback;
    }
    return v;
  };
  const dim = int("hidden_size");
  const hiddenDim = int("intermediate_size");
  const nLayers = int("num_hidden_layers");
  const nHeads = int("num_attention_heads");
  const nKvHeads = int("num_key_value_heads", nHeads);
  const vocabSize = int("vocab_size");
  const maxPositions = int("max_position_embeddings", 2048);
  const rmsNormEps = num("rms_norm_eps", 1e-6);
  const ropeTheta = num("rope_theta", 10000);

  if (dim % nHeads !== 0) {
    problems.push(`hidden_size ${dim} is not divisible by num_attention_heads ${nHeads}`);
  }
  if (nHeads % nKvHeads !== 0) {
    problems.push(
      `num_attention_heads ${nHeads} is not divisible by num_key_value_heads ${nKvHeads}`,
    );
  }
  const hs = dim / nHeads;
  if (hs % 2 !== 0) problems.push(`head size ${hs} is odd`);
  if (c.head_dim != null && c.head_dim !== hs) {
    problems.push(`head_dim ${c.head_dim} differs from hidden_size / num_attention_heads = ${hs}`);
  }
  if ((c.hidden_act ?? "silu") !== "silu") {
    problems.push(`hidden_act ${JSON.stringify(c.hidden_act)} is not silu`);
  }
  if (c.mlp_bias === true) problems.push("mlp_bias = true (MLP biases) is not supported");
  if (c.quantization_config != null) problems.push("quantized checkpoints are not supported");
  const attentionBias = modelType === "qwen2" || c.attention_bias === true;
  if (c.attention_bias === true && modelType === "llama") {
    // Llama's attention_bias also puts a bias on o_proj, which the forward pass does not have.
    problems.push("attention_bias = true (Llama puts a bias on o_proj too) is not supported");
  }

  let ropeScaling: LlamaConfig["ropeScaling"];
  const rs = c.rope_scaling;
  if (rs != null) {
    const s = rs as Record<string, unknown>;
    const type = s.rope_type ?? s.type;
    const factor = s.factor;
    if (typeof factor !== "number" || !(factor > 0)) {
      problems.push(`rope_scaling.factor = ${JSON.stringify(factor)} is not a positive number`);
    } else if (type === "linear") {
      ropeScaling = { type: "linear", factor };
    } else if (type === "llama3") {
      const low = s.low_freq_factor, high = s.high_freq_factor;
      const old = s.original_max_position_embeddings;
      if (
        typeof low !== "number" || typeof high !== "number" || !(high > low) ||
        !Number.isSafeInteger(old)
      ) {
        problems.push(
          "rope_scaling (llama3) needs low_freq_factor < high_freq_factor and " +
            "original_max_position_embeddings",
        );
      } else {
        ropeScaling = {
          type: "llama3",
          factor,
          lowFreqFactor: low,
          highFreqFactor: high,
          originalMaxPositionEmbeddings: old as number,
        };
      }
    } else if (type !== "default") {
      problems.push(
        `rope_scaling type ${JSON.stringify(type)} is not supported (only llama3 and linear)`,
      );
    }
  }
  // A sliding window is exact full causal attention up to its width: cap the context there.
  const window = modelType === "mistral" || c.use_sliding_window === true ? c.sliding_window : null;
  const seqLen = Math.min(
    maxPositions,
    MAX_CONTEXT,
    typeof window === "number" && window > 0 ? window : Infinity,
  );
  const tokenId = (key: string): number | null => {
    const v = Array.isArray(c[key]) ? (c[key] as unknown[])[0] : c[key];
    return Number.isSafeInteger(v) && (v as number) >= 0 ? v as number : null;
  };
  if (problems.length > 0) {
    throw new DataError(`${path}: ${problems.join("; ")}`, {
      hint: "the forward pass computes pre-norm llama blocks (RMSNorm, RoPE, GQA, SwiGLU); " +
        "check that config.json belongs to the safetensors beside it",
      exitCode: 2,
    });
  }
  return {
    config: {
      dim,
      hiddenDim,
      nLayers,
      nHeads,
      nKvHeads,
      vocabSize,
      seqLen,
      sharedClassifier: c.tie_word_embeddings === true,
      ropeTheta,
      ...(ropeScaling && { ropeScaling }),
      rmsNormEps,
    },
    modelType,
    attentionBias,
    bosId: tokenId("bos_token_id"),
    eosId: tokenId("eos_token_id"),
  };
}
