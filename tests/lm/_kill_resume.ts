// Test helpers for the kill-and-resume tests of lm data: a run of `spec.yaml` in `dir` SIGKILLed in
// the middle of its n-th write of a file whose path contains `name` (tests/fixtures/kill_run.ts),
// the id of the spec's only run, the complete files of a cache (not the `.tmp-*` folders a
// killed writer leaves), and the whole check: killed, resumed, compared with an uninterrupted run.
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, ROOT, runTask } from "../tasks/_spawn.ts";
import { FIXTURES } from "./_fixtures.ts";

/**
 * A one-run TopK spec on stories260K named `name` whose training text is `trainText` (a YAML
 * value), small enough to harvest and train in seconds, its caches in `cache/`.
 */
function killSpec(name: string, trainText: string): string {
  return `name: ${name}
data:
  source: lm
  checkpoint: ${FIXTURES}stories260K/stories260K.bin
  tokenizer: ${FIXTURES}stories260K/tok512.bin
  train_text: ${trainText}
  heldout_text: [${FIXTURES}text/tinystories_sample.txt]
  context: 128
  train_tokens: 3000
  heldout_tokens: 256
  cache_dir: cache
sae: {architecture: topk, width: 32, target_l0: 4}
train: {tokens: 4096, batch_size: 256, log_every: 8, checkpoint_every: 8}
eval: {tokens: 256, lm_sequences: 2}
`;
}

/**
 * Runs killSpec(name, trainText) once uninterrupted and once killed half-way through `write` (runKilledAtWrite), checks
 * the killed run's leftovers with `afterKill(dir)`, runs it again and asserts that its caches and SAE
 * weights equal the uninterrupted run's. `afterReference` sees the uninterrupted run's stderr.
 */
export async function assertKillResumes(options: {
  name: string;
  trainText: string;
  write: string;
  afterKill: (dir: string) => Promise<void>;
  afterReference?: (stderr: string) => void;
}): Promise<void> {
  const ref = await Deno.makeTempDir();
  const dir = await Deno.makeTempDir();
  try {
    const spec = killSpec(options.name, options.trainText);
    for (const d of [ref, dir]) await Deno.writeTextFile(join(d, "spec.yaml"), spec);
    const id = await onlyRunId(ref);
    const done = await runTask("run", ["spec.yaml", "--run", id], { cwd: ref });
    assert.equal(done.code, 0, done.stderr);
    options.afterReference?.(done.stderr);

    await runKilledAtWrite(dir, id, options.write);
    await options.afterKill(dir);

    const resumed = await runTask("run", ["spec.yaml", "--run", id], { cwd: dir });
    assert.equal(resumed.code, 0, resumed.stderr);
    assertSameFiles(
      await completeFiles(join(ref, "cache")),
      await completeFiles(join(dir, "cache")),
    );
    const weights = (d: string) =>
      Deno.readFile(join(d, "runs", options.name, id, "sae", "sae_weights.safetensors"));
    assert.deepEqual(await weights(dir), await weights(ref));
  } finally {
    await Deno.remove(ref, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
}

/** The run id of the one run of `dir/spec.yaml`. */
export async function onlyRunId(dir: string): Promise<string> {
  const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  const id = dry.stdout.split("\n").slice(1).map((l) => l.split(/\s+/)[1]).find((s) =>
    /-/.test(s ?? "")
  );
  assert.ok(id, dry.stdout);
  return id;
}

/** Runs `id` of `dir/spec.yaml`, killed half-way through write `n` of a path containing `name`. */
export async function runKilledAtWrite(dir: string, id: string, write: string): Promise<void> {
  const killed = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${ROOT}deno.json`,
      "-A",
      `${ROOT}tests/fixtures/kill_run.ts`,
      `write:${write}`,
      "spec.yaml",
      "--run",
      id,
    ],
    cwd: dir,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(killed.signal, "SIGKILL", new TextDecoder().decode(killed.stderr));
}

/** Every file under `dir` by relative path, outside the `.tmp-*` folders of killed writers. */
export async function completeFiles(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const rel of await listTree(dir)) {
    if (rel.split("/").some((part) => part.startsWith(".tmp-"))) continue;
    if ((await Deno.stat(join(dir, rel))).isFile) out.set(rel, await Deno.readFile(join(dir, rel)));
  }
  return out;
}

/** Asserts that two caches hold the same files with the same bytes. */
export function assertSameFiles(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): void {
  assert.ok(a.size > 0);
  assert.deepEqual([...b.keys()], [...a.keys()]);
  for (const [k, v] of a) assert.deepEqual(b.get(k), v, k);
}
