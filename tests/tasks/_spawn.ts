// Test helper: runs a task script as `deno run` with the project's permissions in a directory.
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tasks/<task>.ts args...` in `cwd` with extra environment variables; a `task` with a slash
 * is a script path relative to the repository root (`tests/fixtures/fake_sweep.ts`).
 */
export async function runTask(
  task: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; permissions?: string[] },
): Promise<TaskResult> {
  const perms = options.permissions ??
    ["--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-sys", "--allow-ffi"];
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${ROOT}deno.json`,
      ...perms,
      task.includes("/") ? `${ROOT}${task}` : `${ROOT}tasks/${task}.ts`,
      ...args,
    ],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** All paths under `dir` (relative), sorted. */
export async function listTree(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    out.push(rel);
    if (e.isDirectory) out.push(...await listTree(`${dir}/${e.name}`, rel + "/"));
  }
  return out.sort();
}
