import assert from "node:assert/strict";
import { renderSlurmScript, shellQuote } from "../../lib/executor/slurm_script.ts";
import { SlurmSpec } from "../../lib/spec/executor_schema.ts";

function input(dir: string, resources: Partial<SlurmSpec> = {}) {
  return {
    jobName: "saesweep-tiny",
    runIds: ["a-1", "b 2", "c'3"],
    runDirs: [`${dir}/runs/a-1`, `${dir}/runs/b 2`, `${dir}/runs/c'3`],
    resources: SlurmSpec.parse(resources),
    submissionDir: `${dir}/sub`,
    cwd: dir,
    command: ["echo", "train", "it's"],
  };
}

Deno.test("renderSlurmScript() writes one #SBATCH line per resource, array limit included", () => {
  const script = renderSlurmScript(input("/x", {
    partition: "gpu",
    time: "2:00:00",
    cpus_per_task: 4,
    mem: "16G",
    gres: "gpu:1",
    max_concurrent: 2,
    requeue: true,
    sbatch: ["--account=lab", "--qos=short"],
    setup: ["module load cuda"],
  }));
  const options = script.split("\n").filter((l) => l.startsWith("#SBATCH ")).map((l) => l.slice(8));
  assert.deepEqual(options, [
    "--job-name=saesweep-tiny",
    "--array=0-2%2",
    "--output=/x/sub/slurm-%A_%a.out",
    "--open-mode=append",
    "--ntasks=1",
    "--cpus-per-task=4",
    "--partition=gpu",
    "--time=2:00:00",
    "--mem=16G",
    "--gres=gpu:1",
    "--requeue",
    "--account=lab",
    "--qos=short",
  ]);
  assert.ok(script.includes("\nmodule load cuda\n"));
  const defaults = renderSlurmScript(input("/x"));
  assert.match(defaults, /^#SBATCH --array=0-2$/m);
  assert.match(defaults, /^#SBATCH --no-requeue$/m);
  assert.doesNotMatch(defaults, /--partition|--time|--mem|--gres/);
});

Deno.test("the rendered script logs task i beside run i and appends --index i to the command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/job.sbatch`;
    await Deno.writeTextFile(path, renderSlurmScript(input(dir)));
    for (const task of ["1", "2"]) {
      const out = await new Deno.Command("bash", {
        args: [path],
        env: { SLURM_ARRAY_JOB_ID: "77", SLURM_ARRAY_TASK_ID: task },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    }
    const log1 = await Deno.readTextFile(`${dir}/runs/b 2/slurm-77_1.log`);
    assert.match(log1, /^saesweep: job 77_1 on /);
    assert.match(log1, /^train it's --index 1$/m);
    const log2 = await Deno.readTextFile(`${dir}/runs/c'3/slurm-77_2.log`);
    assert.match(log2, /^train it's --index 2$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shellQuote() leaves safe words bare and single-quotes the rest", () => {
  assert.equal(shellQuote("--config=/a/deno.json"), "--config=/a/deno.json");
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

Deno.test("a task's threads are the CPUs Slurm granted it (SLURM_CPUS_PER_TASK, else 1), never the node's cores", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/job.sbatch`;
    const script = renderSlurmScript({
      ...input(dir),
      command: ["sh", "-c", "echo threads=$SAESWEEP_THREADS"],
    });
    await Deno.writeTextFile(path, script);
    for (const [task, cpus] of [["0", "3"], ["1", undefined]] as const) {
      const env: Record<string, string> = { SLURM_ARRAY_JOB_ID: "9", SLURM_ARRAY_TASK_ID: task };
      if (cpus) env.SLURM_CPUS_PER_TASK = cpus;
      // The submitting shell's value must not leak through sbatch's exported environment.
      env.SAESWEEP_THREADS = "2";
      const out = await new Deno.Command("bash", { args: [path], env, stderr: "piped" }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    }
    assert.match(await Deno.readTextFile(`${dir}/runs/a-1/slurm-9_0.log`), /^threads=3$/m);
    assert.match(await Deno.readTextFile(`${dir}/runs/b 2/slurm-9_1.log`), /^threads=1$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
