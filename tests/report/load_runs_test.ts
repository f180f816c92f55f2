import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadRuns } from "../../lib/report/load_runs.ts";
import { RUN_COLUMNS, summaryFields } from "../../lib/store/records.ts";
import { join } from "node:path";
import type { RunPlan } from "../../lib/sweep/plan.ts";

const TOY = fileURLToPath(new URL("../fixtures/runs/toy", import.meta.url));

Deno.test("loadRuns() gives one row per readable run with its status, axes and summary", async () => {
  const { table, axes, problems } = await loadRuns([TOY]);
  deepStrictEqual(axes, ["sae.architecture", "sae.target_l0", "train.seed"]);
  const rows = table.objects() as Record<string, unknown>[];
  strictEqual(rows.length, 11);
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  deepStrictEqual([count("done"), count("failed"), count("partial")], [9, 1, 1]);
  const topk = rows.find((r) => r.run_id === "topk-l0_8-s0-a008f1c2")!;
  deepStrictEqual(
    [topk.architecture, topk["sae.target_l0"], topk.l0, topk.fvu, topk.backend, topk.train_seconds],
    ["topk", 8, 8, 0.24, "wasm", 35],
  );
  const failed = rows.find((r) => r.status === "failed")!;
  strictEqual(failed.error, "training diverged at step 30: loss is not finite");
  strictEqual(failed.fvu, null);
  const partial = rows.find((r) => r.status === "partial")!;
  deepStrictEqual([partial.last_step, partial.elapsed_s, partial.l0], [10, 12.5, null]);
  ok(problems.length === 2, JSON.stringify(problems));
});

Deno.test("loadRuns() lists malformed files as problems instead of failing", async () => {
  const { problems } = await loadRuns([TOY]);
  const messages = problems.map((p) => `${p.path.slice(TOY.length + 1)}: ${p.message}`);
  deepStrictEqual(messages, [
    "relu-l0_32-s0-a006f1c2/metrics.jsonl:3: not a metrics line (JSON with step)",
    "zz-corrupt-0000/run.json: expected a JSON object",
  ]);
});

Deno.test("loadRuns() reports a missing experiment directory as a problem", async () => {
  const { table, problems } = await loadRuns([`${TOY}-does-not-exist`]);
  strictEqual(table.numRows(), 0);
  strictEqual(problems.length, 1);
});

Deno.test("loadRuns() adds planned runs without a directory as pending and leaves unplanned ones out", async () => {
  const plan = {
    runId: "gated-l0_32-s0-ffff0000",
    index: 99,
    config: {
      experiment: "toy",
      sae: { architecture: "gated", target_l0: 32 },
      train: { seed: 0 },
    },
    overrides: { "sae.architecture": "gated", "sae.target_l0": 32, "train.seed": 0 },
    specPath: "experiments/toy.yaml",
    specDir: ".",
    specHash: "0123456789abcdef",
    runDir: `${TOY}/gated-l0_32-s0-ffff0000`,
  } as unknown as RunPlan;
  const existing = {
    ...plan,
    runId: "topk-l0_8-s0-a008f1c2",
    runDir: `${TOY}/topk-l0_8-s0-a008f1c2`,
  };
  const { table, problems } = await loadRuns([TOY], { plans: [plan, existing] });
  const rows = table.objects() as Record<string, unknown>[];
  // The planned existing run and the pending one; the fixture's 11 other directories are not
  // runs of this sweep, so they are named as problems instead of shown.
  strictEqual(rows.length, 2);
  const pending = rows.filter((r) => r.status === "pending");
  strictEqual(pending.length, 1);
  strictEqual(pending[0]["sae.target_l0"], 32);
  strictEqual(rows.filter((r) => r.run_id === "topk-l0_8-s0-a008f1c2").length, 1);
  strictEqual(problems.filter((p) => p.message.startsWith("left out: ")).length, 11);
});

Deno.test("loadRuns() takes its columns from lib/store/records.ts: run columns, axes, metrics, then fields some run has", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = join(dir, "toy", "topk-l0_8-s0-a008f1c2");
    await Deno.mkdir(run, { recursive: true });
    for (const f of ["run.json", "metrics.jsonl", "summary.json"]) {
      await Deno.copyFile(join(TOY, "topk-l0_8-s0-a008f1c2", f), join(run, f));
    }
    const summary = JSON.parse(await Deno.readTextFile(join(run, "summary.json")));
    // A declared field written only by some runs, and one this version does not declare.
    summary.thr_stranded_frac = 0.25;
    summary.zz_newer_field = 3;
    await Deno.writeTextFile(join(run, "summary.json"), JSON.stringify(summary));
    const { table } = await loadRuns([join(dir, "toy")]);
    deepStrictEqual(table.columnNames(), [
      ...Object.keys(RUN_COLUMNS),
      "sae.architecture",
      "sae.target_l0",
      "train.seed",
      ...summaryFields("metric"),
      "thr_stranded_frac",
      "zz_newer_field",
    ]);
    const row = table.objects()[0] as Record<string, unknown>;
    deepStrictEqual([row.l0_target, row.thr_stranded_frac, row.zz_newer_field], [8, 0.25, 3]);
    ok(summaryFields("metric").includes("l0_rel_error"));
    ok(summaryFields("when_present").includes("resolved_options"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
