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

Deno.test("report task compares two experiments in one report, labelling series by experiment", async () => {
  const out = await Deno.makeTempDir({ prefix: "saesweep_report_" });
  try {
    // A second experiment: the fixture runs renamed `toy2`, with every fidelity value doubled.
    const second = `${out}/runs/toy2`;
    await Deno.mkdir(second, { recursive: true });
    for await (const run of Deno.readDir(`${ROOT}/tests/fixtures/runs/toy`)) {
      const from = `${ROOT}/tests/fixtures/runs/toy/${run.name}`;
      await Deno.mkdir(`${second}/${run.name}`);
      for await (const file of Deno.readDir(from)) {
        let text = await Deno.readTextFile(`${from}/${file.name}`);
        if (file.name.endsWith(".json")) {
          try {
            const value = JSON.parse(text);
            value.experiment = "toy2";
            if (file.name === "summary.json") value.fvu *= 2;
            text = JSON.stringify(value);
          } catch { /* the fixture's deliberately malformed file stays as it is */ }
        }
        await Deno.writeTextFile(`${second}/${run.name}/${file.name}`, text);
      }
    }
    const r = await report("tests/fixtures/runs/toy", second, "--out", out, "--no-png");
    strictEqual(r.code, 0, r.stderr);
    ok(r.stdout.includes(`${out}/toy+toy2/report.md`), r.stdout);
    const md = await Deno.readTextFile(`${out}/toy+toy2/report.md`);
    ok(
      md.includes("toy/jumprelu") && md.includes("toy2/jumprelu"),
      "series not labelled by experiment",
    );
    const runs = await Deno.readTextFile(`${out}/toy+toy2/runs.csv`);
    strictEqual(runs.trim().split("\n").length - 1, 22, "both experiments' runs are listed");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
