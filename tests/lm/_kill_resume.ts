// Test helpers for the kill-and-resume tests of lm data: a run of `spec.yaml` in `dir` SIGKILLed in
// the middle of its n-th write of a file whose path contains `name` (tests/fixtures/kill_run.ts),
// the id of the spec's only run, and the complete files of a cache (not the `.tmp-*` folders a
// killed writer leaves).
import assert from "node:assert/strict";
import { join } from "node:path";
import { listTree, ROOT, runTask } from "../tasks/_spawn.ts";

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
