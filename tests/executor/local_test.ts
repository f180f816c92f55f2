// Tests how lib/executor/local.ts reads the end of a child: its result line, its exit code or
// signal, and the DONE it leaves. A child that wrote DONE and reported done but then exited
// non-zero (a crash in cleanup, a kill) is not done, whatever the code. Children are small
// `deno eval` scripts that do exactly what each case says; nothing waits on time.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runLocal, type RunOutcome } from "../../lib/executor/local.ts";
import type { RunPlan } from "../../lib/sweep/plan.ts";

/** A child: writes DONE (`fresh` now, `old` from 2000, or `none`), prints a result, then exits. */
const CHILD = `
const [dir, done, result, exit] = Deno.args;
if (done !== "none") {
  const finished_at = done === "old" ? "2000-01-01T00:00:00.000Z" : new Date().toISOString();
  Deno.writeTextFileSync(dir + "/DONE", JSON.stringify({ finished_at }));
}
if (result !== "none") console.log(JSON.stringify({ type: "result", status: result }));
if (exit.startsWith("SIG")) {
  Deno.kill(Deno.pid, exit);
  await new Promise(() => {});
}
Deno.exit(Number(exit));
`;

interface Case {
  name: string;
  done: "fresh" | "old" | "none";
  result: "done" | "failed" | "none";
  exit: string;
}

/** Runs one child per case (two at a time) and returns each case's outcome by name. */
async function outcomes(cases: Case[]): Promise<Record<string, RunOutcome>> {
  const dir = await Deno.makeTempDir();
  try {
    const plans = await Promise.all(cases.map(async (c) => {
      const runDir = join(dir, c.name);
      await Deno.mkdir(runDir);
      return { runId: c.name, runDir, case: c } as unknown as RunPlan & { case: Case };
    }));
    const got = await runLocal(plans, {
      jobs: 2,
      cwd: dir,
      args: (plan) => {
        const c = (plan as RunPlan & { case: Case }).case;
        return ["eval", CHILD, plan.runDir, c.done, c.result, c.exit];
      },
    });
    return Object.fromEntries(got.map((o) => [o.runId, o]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runLocal() counts a child that wrote DONE, reported done and exited non-zero as not done", async () => {
  const codes = ["1", "2", "3", "100", "255"];
  const got = await outcomes([
    { name: "clean", done: "fresh", result: "done", exit: "0" },
    ...codes.map((exit): Case => ({ name: `exit-${exit}`, done: "fresh", result: "done", exit })),
    { name: "sigkill", done: "fresh", result: "done", exit: "SIGKILL" },
    { name: "sigterm", done: "fresh", result: "done", exit: "SIGTERM" },
    { name: "sighup", done: "fresh", result: "done", exit: "SIGHUP" },
  ]);
  assert.deepEqual([got.clean.status, got.clean.exitCode], ["done", 0]);
  for (const exit of codes) {
    const o = got[`exit-${exit}`];
    assert.deepEqual([o.status, o.exitCode], ["failed", Number(exit)], `exit ${exit}`);
    assert.match(o.error ?? "", new RegExp(`^exit code ${exit}\\b`), `exit ${exit}`);
  }
  // Killed by a signal the sweep did not send: a failure, with the shell's 128 + signal code.
  for (const [name, code] of [["sigkill", 137], ["sigterm", 143], ["sighup", 129]] as const) {
    assert.deepEqual([got[name].status, got[name].exitCode], ["failed", code], name);
  }
});

Deno.test("runLocal() counts exit 130 after DONE as interrupted and exit 0 without a result as failed", async () => {
  const got = await outcomes([
    { name: "sigint-code", done: "fresh", result: "done", exit: "130" },
    { name: "sigint", done: "fresh", result: "done", exit: "SIGINT" },
    { name: "silent", done: "fresh", result: "none", exit: "0" },
    { name: "silent-1", done: "fresh", result: "none", exit: "1" },
    { name: "failed-0", done: "none", result: "failed", exit: "0" },
  ]);
  assert.equal(got["sigint-code"].status, "interrupted");
  assert.equal(got.sigint.status, "interrupted");
  assert.deepEqual([got.silent.status, got.silent.error], [
    "failed",
    "the run process exited without reporting a result",
  ]);
  assert.deepEqual([got["silent-1"].status, got["silent-1"].exitCode], ["failed", 1]);
  assert.equal(got["failed-0"].status, "failed");
});

Deno.test("runLocal() reports a done child whose DONE predates it as finished by another process", async () => {
  const got = await outcomes([
    { name: "old-0", done: "old", result: "done", exit: "0" },
    { name: "old-1", done: "old", result: "done", exit: "1" },
  ]);
  assert.deepEqual([got["old-0"].status, got["old-0"].error], [
    "skipped",
    "finished meanwhile by another process",
  ]);
  // A DONE of another process is done whatever this child's exit code says about itself.
  assert.equal(got["old-1"].status, "skipped");
});
