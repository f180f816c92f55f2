// Runs one benchmark job (one configuration, one engine) in a fresh Deno process, so that its
// peak memory is its own: the task script is started with `--worker <job JSON>` and answers with
// one JSON line. The child side reads its own peak RSS with peakRssMb().
import type { BenchResult } from "./measure_engine.ts";

/** Peak resident memory of this process in MB (VmHWM on Linux, current RSS elsewhere). */
export function peakRssMb(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return Deno.memoryUsage().rss / 2 ** 20;
}

/** Starts `script --worker JSON(job)` with the bench's permissions and parses its last line. */
export async function runBenchJob(script: URL, job: object): Promise<BenchResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "--allow-ffi",
      "--allow-run",
      script.pathname,
      "--worker",
      JSON.stringify(job),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n");
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 4).join(" | ");
    throw new Error(`benchmark worker failed: ${err}`);
  }
  return JSON.parse(text.at(-1)!);
}
