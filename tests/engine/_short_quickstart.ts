// Test helper: experiments/quickstart.yaml shortened to 8 steps of 512 tokens and one L0 target,
// for end-to-end runs of the engines (a helper module, so importing it registers no tests).
import { parse, stringify } from "yaml";
import { ROOT } from "../tasks/_spawn.ts";

/** experiments/quickstart.yaml with 8 steps of 512 tokens and target_l0 8 only. */
export async function shortQuickstart(dir: string): Promise<string> {
  const spec = parse(await Deno.readTextFile(`${ROOT}experiments/quickstart.yaml`));
  spec.train = { ...spec.train, tokens: 4096, batch_size: 512, log_every: 4, checkpoint_every: 8 };
  spec.train.lr_warmup_steps = 2;
  spec.eval = { ...spec.eval, tokens: 1024 };
  spec.sweep["sae.target_l0"] = [8];
  spec.report.target_l0s = [8];
  const path = `${dir}/quickstart_short.yaml`;
  await Deno.writeTextFile(path, stringify(spec));
  return path;
}
