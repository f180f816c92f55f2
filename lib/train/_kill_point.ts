// Fault injection for crash tests: `SAESWEEP_TEST_KILL=<point>:<step>` makes this process kill
// itself with SIGKILL when it reaches that point of that step (e.g. between writing a checkpoint's
// tensors and its latest.json). Does nothing unless the variable names the point.

/** SIGKILLs this process if SAESWEEP_TEST_KILL is `<point>:<step>`. */
export async function killPoint(point: string, step: number): Promise<void> {
  let wanted: string | undefined;
  try {
    wanted = Deno.env.get("SAESWEEP_TEST_KILL");
  } catch {
    return; // no env permission: never a test
  }
  if (wanted !== `${point}:${step}`) return;
  Deno.kill(Deno.pid, "SIGKILL");
  await new Promise(() => {}); // the signal is asynchronous: never continue past the point
}
