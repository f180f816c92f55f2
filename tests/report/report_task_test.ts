// Runs `tasks/report.ts` as the user does: exit codes, `error:`/`hint:` lines, printed paths.
import { ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function report(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "tasks/report.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("report task writes a runs directory's report and prints where it is", async () => {
  const out = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    const r = await report("tests/fixtures/runs/toy", "--out", out, "--no-png");
    strictEqual(r.code, 0, r.stderr);
    strictEqual(r.stdout, `${out}/toy/index.html\n${out}/toy/report.md\n`);
    ok(r.stderr.includes("report of 11 runs (9 done, 1 failed, 1 partial)"), r.stderr);
    await Deno.stat(`${out}/toy/comparison.csv`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("report task exits 2 with a hint to sweep first when a spec has no runs", async () => {
  const runs = await Deno.makeTempDir({ prefix: "saesweep_runs_" });
  try {
    const r = await report("tests/fixtures/specs/tiny.yaml", "--runs", runs);
    strictEqual(r.code, 2);
    ok(r.stderr.includes(`error: no runs found for tiny in ${runs}/tiny`), r.stderr);
    ok(r.stderr.includes("hint: run `deno task sweep tests/fixtures/specs/tiny.yaml` first"));
    const missing = await report("no/such/spec.yaml");
    strictEqual(missing.code, 2);
    ok(missing.stderr.startsWith("error: no such file or directory: no/such/spec.yaml\nhint: "));
  } finally {
    await Deno.remove(runs, { recursive: true });
  }
});
