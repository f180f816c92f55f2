// `deno task report <spec.yaml | runs/<experiment>>...`: loads the runs of one or more experiments
// and writes reports/<experiments>/ (index.html, report.md, CSVs, PNGs); prints where it is.
import { Command } from "commander";
import { basename, join, resolve } from "node:path";
import { UsageError } from "../lib/errors.ts";
import { loadExperiment } from "../lib/spec/load.ts";
import { ReportSpec } from "../lib/spec/schema.ts";
import { expandSweep } from "../lib/sweep/expand.ts";
import type { RunPlan } from "../lib/sweep/plan.ts";
import { loadRuns } from "../lib/report/load_runs.ts";
import { writeReport } from "../lib/report/write.ts";
import type { ReportSettings } from "../lib/report/build.ts";
import { runMain } from "./_cli.ts";

interface Flags {
  runs: string;
  out: string;
  png: boolean;
  generatedAt?: string;
}

/** One command-line input resolved to an experiment directory (and its spec, if one was given). */
interface Input {
  arg: string;
  experimentDir: string;
  name: string;
  spec?: Awaited<ReturnType<typeof loadExperiment>>;
}

async function resolveInput(arg: string, runsRoot: string): Promise<Input> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(arg);
  } catch {
    throw new UsageError(`no such file or directory: ${arg}`, {
      hint: "pass an experiment spec (experiments/quickstart.yaml) or a runs directory " +
        "(runs/quickstart)",
    });
  }
  if (info.isDirectory) return { arg, experimentDir: arg, name: basename(resolve(arg)) };
  const spec = await loadExperiment(arg);
  return { arg, experimentDir: join(runsRoot, spec.spec.name), name: spec.spec.name, spec };
}

/** Report settings of the specs given (their union), or the schema's defaults for run dirs. */
function settingsOf(inputs: Input[]): ReportSettings {
  const sections = inputs.flatMap((i) => (i.spec ? [i.spec.spec.report] : []));
  if (sections.length === 0) sections.push(ReportSpec.parse({}));
  const union = <T>(lists: T[][]) => [...new Set(lists.flat())];
  return {
    targetL0s: union(sections.map((s) => s.target_l0s)),
    metrics: union(sections.map((s) => s.metrics as string[])),
    l0Tolerance: sections[0].l0_tolerance,
    groupBy: union(sections.map((s) => s.group_by)),
    seriesBy: union(sections.map((s) => s.series_by)),
  };
}

async function hasRunDirs(dir: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && !e.name.startsWith(".")) return true;
    }
  } catch {
    return false;
  }
  return false;
}

async function main(): Promise<number> {
  const program = new Command()
    .name("deno task report")
    .description(
      "Aggregate the runs of one or more experiments into reports/<experiment>/: index.html, " +
        "report.md (with PNG plots), runs.csv, frontier.csv and comparison.csv",
    )
    .argument("<inputs...>", "experiment specs (YAML) or run directories (runs/<experiment>)")
    .option("--runs <dir>", "runs root that spec arguments map into", "runs")
    .option("--out <dir>", "reports root; the report goes to <dir>/<experiment>/", "reports")
    .option("--no-png", "skip the PNG plots of report.md")
    .option("--generated-at <iso>", "timestamp to print instead of now (reproducible output)")
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  program.parse(Deno.args, { from: "user" });
  const flags = program.opts<Flags>();
  const inputs: Input[] = [];
  for (const arg of program.args) inputs.push(await resolveInput(arg, flags.runs));

  for (const input of inputs) {
    if (await hasRunDirs(input.experimentDir)) continue;
    const how = input.spec ? `deno task sweep ${input.arg}` : "deno task sweep <spec>";
    throw new UsageError(`no runs found for ${input.name} in ${input.experimentDir}`, {
      hint: `run \`${how}\` first` +
        (input.spec ? "" : ", or pass the runs directory of an experiment (runs/<name>)"),
    });
  }
  const plans: RunPlan[] = inputs.flatMap((i) =>
    i.spec ? expandSweep(i.spec, { outDir: flags.runs }) : []
  );
  const loaded = await loadRuns(inputs.map((i) => i.experimentDir), { plans });
  const names = [...new Set(inputs.map((i) => i.name))];
  const outDir = join(flags.out, names.join("+"));
  const descriptions = inputs.map((i) => i.spec?.spec.description ?? "").filter((d) => d);
  const written = await writeReport(loaded, {
    outDir,
    settings: settingsOf(inputs),
    sources: inputs.map((i) => i.spec ? `${i.experimentDir} (spec ${i.arg})` : i.experimentDir),
    specHashes: inputs.flatMap((i) => (i.spec ? [i.spec.specHash] : [])),
    description: descriptions.join("\n"),
    generatedAt: flags.generatedAt,
    png: flags.png,
    recipes: Object.assign({}, ...inputs.map((i) => i.spec?.spec.recipes ?? {})),
  });
  for (const w of written.warnings) console.error(`warning: ${w}`);
  if (loaded.problems.length > 0) {
    console.error(
      `warning: ${loaded.problems.length} problem(s) reading run directories (listed in the report)`,
    );
  }
  const counts = written.model.counts.filter((c) => c.n > 0).map((c) => `${c.n} ${c.status}`);
  console.error(`report of ${written.model.runs.length} runs (${counts.join(", ")})`);
  console.log(join(outDir, "index.html"));
  console.log(join(outDir, "report.md"));
  return 0;
}

if (import.meta.main) runMain(main);
