// Fault injection for crash tests: `SAESWEEP_TEST_KILL=<point>:<step>` makes this process kill
// itself with SIGKILL when it reaches that point of that step (e.g. between writing a checkpoint's
// tensors and its latest.json). Does nothing unless the variable names the point.

function wanted(): string | undefined {
  try {
    return Deno.env.get("SAESWEEP_TEST_KILL");
  } catch {
    return undefined; // no env permission: never a test
  }
}

/** The kill point this process was started with (read once). */
const WANTED = wanted();

/** SIGKILLs this process if SAESWEEP_TEST_KILL is `<point>:<step>`. */
export async function killPoint(point: string, step: number): Promise<void> {
  if (WANTED === undefined || WANTED !== `${point}:${step}`) return;
  Deno.kill(Deno.pid, "SIGKILL");
  await new Promise(() => {}); // the signal is asynchronous: never continue past the point
}
