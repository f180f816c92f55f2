// Test helper: a private single-node Slurm on loopback (munged with its own key and socket,
// slurmctld and slurmd on free ports, all state in a temp dir), stopped by the PIDs it wrote.
// Needs root and Debian's munge, slurmctld, slurmd and slurm-client (installed by .ci/run).
import { hostname } from "node:os";

const SBIN = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
const TOOLS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"];

export interface SlurmCluster {
  dir: string;
  /** Environment for Slurm clients (SLURM_CONF) and the daemons' sbin on PATH. */
  env: Record<string, string>;
  /** Stops the daemons by PID (SIGTERM, then waits until they are gone) and removes `dir`. */
  stop(): Promise<void>;
}

function which(tool: string): string | undefined {
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":"), ...SBIN].filter(Boolean);
  for (const d of dirs) {
    try {
      if (Deno.statSync(`${d}/${tool}`).isFile) return `${d}/${tool}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Why a cluster cannot start here (not root, tools missing), or undefined when it can. */
export function slurmUnavailable(): string | undefined {
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) return "needs root on Linux";
  const missing = TOOLS.filter((t) => !which(t));
  return missing.length ? `missing ${missing.join(", ")}` : undefined;
}

/** True when something accepts connections on 127.0.0.1:port (bash's /dev/tcp; no --allow-net). */
async function portInUse(port: number): Promise<boolean> {
  const probe = `exec 3<>/dev/tcp/127.0.0.1/${port}`;
  const out = await new Deno.Command("bash", { args: ["-c", probe], stderr: "null" }).output();
  return out.success;
}

/** Two consecutive free TCP ports in 20000-59999 (random start, probed). */
async function freePorts(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + 2 * Math.floor(Math.random() * 20000);
    if (!(await portInUse(port)) && !(await portInUse(port + 1))) return [port, port + 1];
  }
  throw new Error("no free pair of TCP ports found for slurmctld and slurmd");
}

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(which(cmd)!, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  return text;
}

/** Polls `cond` every 100 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  cond: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True while `pid` runs (asks ps: /proc is closed to Deno without --allow-all). */
async function pidAlive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return out.success && stat !== "" && !stat.startsWith("Z");
}

async function readPid(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Starts munged, slurmctld and slurmd; resolves once the node is idle. */
export async function startSlurmCluster(): Promise<SlurmCluster> {
  const dir = await Deno.makeTempDir({ prefix: "saesweep-slurm-" });
  const node = hostname().split(".")[0];
  const pidFiles = ["slurmd.pid", "slurmctld.pid", "munged.pid"].map((f) => `${dir}/${f}`);
  const env = {
    SLURM_CONF: `${dir}/slurm.conf`,
    PATH: `${Deno.env.get("PATH") ?? ""}:${SBIN.join(":")}`,
  };
  let started = false; // set once all three daemons run: from then on each must be stopped
  const stop = async () => {
    const notRunning: string[] = [];
    for (const file of pidFiles) {
      const pid = await readPid(file);
      if (pid === undefined || !(await pidAlive(pid))) {
        notRunning.push(file);
        continue;
      }
      Deno.kill(pid, "SIGTERM");
      await waitUntil(`pid ${pid} (${file}) to exit`, async () => !(await pidAlive(pid)), 30_000);
    }
    await Deno.remove(dir, { recursive: true });
    if (started && notRunning.length > 0) {
      throw new Error(`daemons not found running at stop: ${notRunning.join(", ")}`);
    }
  };
  try {
    await Deno.mkdir(`${dir}/state`);
    await Deno.mkdir(`${dir}/spool`);
    await Deno.writeFile(`${dir}/munge.key`, crypto.getRandomValues(new Uint8Array(1024)), {
      mode: 0o600,
    });
    await run("munged", [
      "--force",
      `--socket=${dir}/munge.sock`,
      `--key-file=${dir}/munge.key`,
      `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/munged.log`,
      `--seed-file=${dir}/munge.seed`,
    ], env);
    const [ctldPort, slurmdPort] = await freePorts();
    const cpus = navigator.hardwareConcurrency;
    await Deno.writeTextFile(
      env.SLURM_CONF,
      [
        "ClusterName=saesweeptest",
        `SlurmctldHost=${node}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${slurmdPort}`,
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        `AuthInfo=socket=${dir}/munge.sock`,
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        `SlurmdLogFile=${dir}/slurmd.log`,
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SwitchType=switch/none",
        "MpiDefault=none",
        "MailProg=/bin/true",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "ReturnToService=2",
        `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
        `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
        "",
      ].join("\n"),
    );
    await run("slurmctld", [], env);
    await run("slurmd", [], env);
    await waitUntil("the Slurm node to become idle", async () => {
      const out = await new Deno.Command(which("sinfo")!, {
        args: ["-h", "-o", "%T"],
        env,
        stdout: "piped",
        stderr: "null",
      }).output();
      return new TextDecoder().decode(out.stdout).trim() === "idle";
    });
    started = true;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { dir, env, stop };
}
