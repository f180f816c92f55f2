// The Slurm executor against a real single-node Slurm started here: a --wait sweep trains every
// run with the same weights as the local executor and the report builds; a task cancelled mid-run
// resumes from its checkpoint on resubmission; locks of other hosts follow Slurm's job states.
// Skipped without root or Slurm, except under CI=true (where .ci/run installs it).
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { activeArrayTasks, jobActivity, scancel } from "../../lib/slurm/commands.ts";
import { LockError } from "../../lib/errors.ts";
import { acquireRunLock } from "../../lib/store/lock.ts";
import { runStatus } from "../../lib/store/run_dir.ts";
import { runTask } from "../tasks/_spawn.ts";
import {
  type SlurmCluster,
  slurmUnavailable,
  startSlurmCluster,
  waitUntil,
} from "./_slurm_cluster.ts";

const CI = ["1", "true"].includes((Deno.env.get("CI") ?? "").toLowerCase());
const UNAVAILABLE = slurmUnavailable();

// Two runs of a tiny TopK SAE: 200 and 1000 steps, checkpoints every 50 steps.
const SPEC = `name: slurmtest
data: { source: synthetic, d_model: 32, n_features: 256 }
sae: { width: 256, architecture: topk, target_l0: 8 }
train: { batch_size: 256, log_every: 10, checkpoint_every: 50, norm_sample_tokens: 1024 }
eval: { tokens: 512 }
executor: { slurm: { cpus_per_task: 1, time: "10" } }
sweep: { train.tokens: [51200, 256000] }
report: { target_l0s: [8] }
`;
const LONG_STEPS = 1000;

/** The --allow flags of a deno.json task (what `deno task <name>` grants). */
function taskPermissions(task: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  return (config.tasks[task].command as string).split(" ").filter((w) => w.startsWith("--allow"));
}

async function bytes(path: string): Promise<Uint8Array> {
  return await Deno.readFile(path);
}

async function json(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

function jobIdOf(stdout: string): string {
  const m = stdout.match(/^submitted Slurm job (\d+): /m);
  assert.ok(m, `no job id in:\n${stdout}`);
  return m[1];
}

async function withCluster(fn: (cluster: SlurmCluster, dir: string) => Promise<void>) {
  if (UNAVAILABLE) {
    throw new Error(
      `CI is set but Slurm cannot start (${UNAVAILABLE}); .ci/run installs munge slurmctld slurmd slurm-client`,
    );
  }
  const cluster = await startSlurmCluster();
  const dir = await Deno.makeTempDir();
  const previous = Deno.env.get("SLURM_CONF");
  Deno.env.set("SLURM_CONF", cluster.env.SLURM_CONF); // for squeue/scancel called in this process
  try {
    await fn(cluster, dir);
  } finally {
    if (previous === undefined) Deno.env.delete("SLURM_CONF");
    else Deno.env.set("SLURM_CONF", previous);
    await cluster.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "sweep --executor slurm trains like the local executor and resumes a cancelled task",
  ignore: UNAVAILABLE !== undefined && !CI,
  fn: () =>
    withCluster(async (cluster, dir) => {
      const env = cluster.env;
      await Deno.writeTextFile(`${dir}/spec.yaml`, SPEC);
      const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
      assert.equal(dry.code, 0, dry.stderr);
      const ids = dry.stdout.split("\n").slice(1, 3).map((l) => l.split(/\s+/)[1]);
      const [shortId, longId] = ids;
      const weights = (out: string, id: string) =>
        bytes(`${dir}/${out}/slurmtest/${id}/sae/sae_weights.safetensors`);

      // The reference: the local executor.
      const local = await runTask("sweep", ["spec.yaml", "--out", "local", "--jobs", "2"], {
        cwd: dir,
        env,
      });
      assert.equal(local.code, 0, local.stderr);

      // 1. One --wait submission trains both runs, with the same weights as the local executor.
      const sub = await runTask("sweep", [
        "spec.yaml",
        "--out",
        "slurm",
        "--executor",
        "slurm",
        "--wait",
      ], { cwd: dir, env });
      assert.equal(sub.code, 0, sub.stdout + sub.stderr);
      const job = jobIdOf(sub.stdout);
      assert.match(sub.stdout, /^2 done, 0 skipped \(already done\), 0 failed$/m);
      for (const [index, id] of ids.entries()) {
        await Deno.stat(`${dir}/slurm/slurmtest/${id}/DONE`);
        assert.deepEqual(await weights("slurm", id), await weights("local", id), id);
        const log = await Deno.readTextFile(
          `${dir}/slurm/slurmtest/${id}/slurm-${job}_${index}.log`,
        );
        assert.match(log, new RegExp(`^done ${id}: `, "m"));
      }
      const report = await runTask("report", ["slurm/slurmtest", "--out", "reports", "--no-png"], {
        cwd: dir,
        permissions: taskPermissions("report"),
      });
      assert.equal(report.code, 0, report.stderr);
      const csv = await Deno.readTextFile(`${dir}/reports/slurmtest/runs.csv`);
      for (const id of ids) assert.match(csv, new RegExp(`${id}.*done|done.*${id}`));
      await Deno.stat(`${dir}/reports/slurmtest/index.html`);

      // 2. Submit held; a second sweep leaves the queued runs alone. Then cancel the long run's
      // task once it has checkpointed (it checkpoints again on SIGTERM).
      const resumeArgs = ["spec.yaml", "--out", "resume", "--executor", "slurm"];
      const first = await runTask("sweep", [...resumeArgs, "--sbatch=--hold"], { cwd: dir, env });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const firstJob = jobIdOf(first.stdout);
      const twice = await runTask("sweep", resumeArgs, { cwd: dir, env });
      assert.equal(twice.code, 0, twice.stdout + twice.stderr);
      assert.equal(
        twice.stdout.trim(),
        `2 runs are already queued in Slurm (${firstJob}_0, ${firstJob}_1); not submitted again`,
      );
      assert.ok(
        (await new Deno.Command("scontrol", { args: ["release", firstJob], env }).output()).success,
      );
      const longDir = `${dir}/resume/slurmtest/${longId}`;
      await waitUntil("the long run's first checkpoint", async () => {
        try {
          return (await json(`${longDir}/checkpoint/latest.json`)).step > 0;
        } catch {
          return false;
        }
      });
      await scancel(`${firstJob}_1`);
      await waitUntil(
        "the first array job to end",
        async () => !(await activeArrayTasks([firstJob])).has(firstJob),
      );
      assert.equal(await runStatus(`${dir}/resume/slurmtest/${shortId}`), "done");
      assert.equal(await runStatus(longDir), "partial", "the long run was cancelled mid-run");
      assert.equal((await json(`${longDir}/run.json`)).status, "interrupted");
      const stoppedAt = (await json(`${longDir}/checkpoint/latest.json`)).step;
      assert.ok(stoppedAt > 0 && stoppedAt < LONG_STEPS, `checkpoint at step ${stoppedAt}`);

      // 3. Resubmitting covers exactly the unfinished run, which resumes from that checkpoint.
      const again = await runTask("sweep", [
        "spec.yaml",
        "--out",
        "resume",
        "--executor",
        "slurm",
        "--wait",
      ], { cwd: dir, env });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /: 1 run \(1 resuming\)/);
      const script = again.stdout.match(/^ {2}script: +(\S+)$/m)![1];
      const manifest = await json(`${dir}/${dirname(script)}/manifest.json`);
      assert.deepEqual(manifest.runs.map((r: { runId: string }) => r.runId), [longId]);
      const resumed = await json(`${longDir}/run.json`);
      assert.equal(resumed.status, "done");
      assert.equal(resumed.notes.resumed_from_step, stoppedAt);
      const steps = (await Deno.readTextFile(`${longDir}/metrics.jsonl`)).trim().split("\n")
        .map((l) => JSON.parse(l).step);
      assert.deepEqual(steps, Array.from({ length: LONG_STEPS / 10 }, (_, i) => 10 * (i + 1)));
      assert.deepEqual(await weights("resume", longId), await weights("local", longId));
    }),
});

Deno.test({
  name: "a lock held by another host's Slurm job is refused while the job runs, taken over after",
  ignore: UNAVAILABLE !== undefined && !CI,
  fn: () =>
    withCluster(async (cluster, dir) => {
      const out = await new Deno.Command("sbatch", {
        args: ["--parsable", "--output=/dev/null", "--wrap", "sleep 300"],
        env: cluster.env,
        stdout: "piped",
      }).output();
      const job = new TextDecoder().decode(out.stdout).trim().split(";")[0];
      assert.match(job, /^\d+$/);
      // A run directory of a shared output directory, held by that job on another node.
      const runDir = `${dir}/runs/shared/run-a`;
      await Deno.mkdir(runDir, { recursive: true });
      await Deno.writeTextFile(
        `${runDir}/run.json`,
        JSON.stringify({ run_id: "run-a", experiment: "shared", status: "running" }),
      );
      const lock = { pid: 1, host: "othernode", time: "2026-01-01T00:00:00Z", token: "x" };
      await Deno.writeTextFile(
        `${runDir}/LOCK`,
        JSON.stringify({ ...lock, slurm: { job_id: job } }),
      );
      assert.equal(await runStatus(runDir), "running");
      await assert.rejects(acquireRunLock(runDir), (err: unknown) => {
        assert.ok(err instanceof LockError);
        assert.match(
          err.message,
          new RegExp(`locked by pid 1 on othernode \\(Slurm job ${job}\\)`),
        );
        assert.equal(err.hint, `wait for the job, or stop it with \`scancel ${job}\``);
        return true;
      });
      const report = () =>
        runTask("report", ["runs/shared", "--no-png"], {
          cwd: dir,
          env: cluster.env,
          permissions: taskPermissions("report"),
        });
      const during = await report();
      assert.equal(during.code, 0, during.stderr);
      assert.match(during.stderr, /^report of 1 runs \(1 running\)$/m);
      await scancel(job);
      await waitUntil(`job ${job} to end`, async () => (await jobActivity(job)) === "finished");
      // The report asks squeue too: the run is no longer counted as running.
      assert.match((await report()).stderr, /^report of 1 runs \(1 partial\)$/m);
      const taken = await acquireRunLock(runDir);
      assert.equal(taken.info.pid, Deno.pid);
      await taken.release();
    }),
});

Deno.test({
  name: "sweep --executor slurm --wait exits 1 and names the log of a task whose run failed",
  ignore: UNAVAILABLE !== undefined && !CI,
  fn: () =>
    withCluster(async (cluster, dir) => {
      await Deno.writeTextFile(`${dir}/spec.yaml`, SPEC);
      // The stand-in trainer fails runs whose id contains FAKE_FAIL (sbatch passes the variable on).
      const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
      const failing = dry.stdout.split("\n")[2].split(/\s+/)[1];
      const r = await runTask("tests/fixtures/fake_sweep.ts", [
        "spec.yaml",
        "--executor",
        "slurm",
        "--wait",
      ], { cwd: dir, env: { ...cluster.env, FAKE_FAIL: failing } });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const job = jobIdOf(r.stdout);
      assert.match(r.stdout, /^1 done, 0 skipped \(already done\), 1 failed$/m);
      assert.match(
        r.stdout,
        new RegExp(
          `^${failing}\\s+failed\\s+training diverged at step 1: loss is not finite$`,
          "m",
        ),
      );
      const log = `runs/slurmtest/${failing}/slurm-${job}_1.log`;
      assert.match(r.stdout, new RegExp(`^failed ${failing}: log ${log}$`, "m"));
      assert.match(await Deno.readTextFile(`${dir}/${log}`), /error: training diverged at step 1/);
    }),
});
