// Opens and checks the data of a sweep once, before any run starts: every path exists, activation
// files have a float dtype, rank 2, a consistent width and enough rows, a sample of them is finite
// and not constant; lm checkpoints and tokenizers parse and fit data.layer / data.context. Reads
// only; writes nothing.
import { resolve } from "node:path";
import canonicalize from "canonicalize";
import type { RunPlan } from "../sweep/plan.ts";
import type { DataSpec } from "../spec/schema.ts";
import { SaeSweepError } from "../errors.ts";
import { checkSample } from "../data/check_sample.ts";
import { textFiles } from "../data/data_spec.ts";

/** What the check found for one distinct data section. */
export interface DataCheck {
  /** `key: problem` lines (spec key, file, what is wrong); empty when the data is usable. */
  problems: string[];
  /** Width of the activations, when it could be read. */
  dModel?: number;
}

/** Dotted spec key and the file or directory it must name, for one data section. */
function dataPaths(data: DataSpec): [string, string][] {
  switch (data.source) {
    case "synthetic":
      return [];
    case "files":
      return [
        ["data.path", data.path],
        ...(data.heldout_path == null ? [] : [["data.heldout_path", data.heldout_path]]),
      ] as [string, string][];
    case "lm":
      return [
        ["data.checkpoint", data.checkpoint],
        ...(data.tokenizer === null
          ? []
          : [["data.tokenizer", data.tokenizer] as [string, string]]),
        ...textFiles(data.train_text).map((p, i) =>
          [`data.train_text[${i}]`, p] as [string, string]
        ),
        ...textFiles(data.heldout_text).map((p, i) =>
          [`data.heldout_text[${i}]`, p] as [string, string]
        ),
      ];
  }
}

/**
 * The problem when the held-out data has fewer vectors than eval.tokens asks for (the evaluation
 * would quietly use fewer), as a `eval.tokens: ...` line; undefined when it has enough or the
 * source makes as many as asked (synthetic). `described`: the source's describe().
 */
export function evalTokensProblem(
  evalTokens: number,
  described: Record<string, unknown>,
  what: string,
): string | undefined {
  const held = described.heldout_rows;
  if (typeof held !== "number" || held >= evalTokens) return undefined;
  const raise = described.source === "lm" ? "data.heldout_tokens" : "data.heldout_fraction";
  return `eval.tokens: ${evalTokens} held-out vectors asked for, but ${what} has only ${held}; ` +
    `lower eval.tokens to at most ${held} or raise ${raise}`;
}

/**
 * Runs `fn`; a SaeSweepError becomes `key: message` problem lines (then `key: hint: ...`), anything
 * else propagates.
 */
async function collect<T>(key: string, problems: string[], fn: () => Promise<T>) {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof SaeSweepError)) throw err;
    for (const line of err.message.split("\n")) problems.push(`${key}: ${line}`);
    if (err.hint) problems.push(`${key}: hint: ${err.hint}`);
    return undefined;
  }
}

async function checkOne(plan: RunPlan): Promise<DataCheck> {
  const { data, train } = plan.config;
  const problems: string[] = [];
  for (const [key, rel] of dataPaths(data)) {
    const abs = resolve(plan.specDir, rel);
    try {
      await Deno.stat(abs);
    } catch {
      problems.push(`${key}: ${abs} does not exist`);
    }
  }
  if (problems.length > 0) return { problems };
  switch (data.source) {
    case "synthetic":
      return { problems, dModel: data.d_model };
    case "files": {
      const { openFilesSource } = await import("../data/files.ts");
      const dModel = await collect("data.path", problems, async () => {
        const source = await openFilesSource(data, { specDir: plan.specDir, streamSeed: 0 });
        try {
          const sample = await source.sample(train.norm_sample_tokens);
          checkSample(sample, source.dModel, resolve(plan.specDir, data.path));
          const short = evalTokensProblem(
            plan.config.eval.tokens,
            source.describe(),
            `data.path ${resolve(plan.specDir, data.path)}`,
          );
          if (short) problems.push(short);
          return source.dModel;
        } finally {
          source.close();
        }
      });
      return { problems, dModel };
    }
    case "lm": {
      const { loadModelCheckpoint, loadModelTokenizer } = await import("../lm/load_model.ts");
      const model = await collect(
        "data.checkpoint",
        problems,
        () => loadModelCheckpoint(resolve(plan.specDir, data.checkpoint)),
      );
      if (model) {
        const { lmFitProblems } = await import("../lm/lm_caches.ts");
        problems.push(...lmFitProblems(data, model.checkpoint.config)); // each names its data key
        const tokenizer = data.tokenizer === null ? null : resolve(plan.specDir, data.tokenizer);
        await collect("data.tokenizer", problems, () => loadModelTokenizer(tokenizer, model));
      }
      return { problems, dModel: model?.checkpoint.config.dim };
    }
  }
}

/**
 * Checks the data of every plan, each distinct data section once (by its resolved config and
 * spec directory). Returns one DataCheck per plan, in plan order.
 */
export async function checkData(plans: readonly RunPlan[]): Promise<DataCheck[]> {
  const seen = new Map<string, Promise<DataCheck>>();
  return await Promise.all(plans.map((plan) => {
    const key = canonicalize({
      data: plan.config.data,
      dir: plan.specDir,
      n: plan.config.train.norm_sample_tokens,
      eval: plan.config.eval.tokens,
    })!;
    if (!seen.has(key)) seen.set(key, checkOne(plan));
    return seen.get(key)!;
  }));
}

/** The distinct problem lines of `checks`, in order. */
export function dataProblems(checks: readonly DataCheck[]): string[] {
  return [...new Set(checks.flatMap((c) => c.problems))];
}
