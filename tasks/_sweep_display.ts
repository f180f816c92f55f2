// Live progress of a local sweep on stderr: cli-progress bars on a terminal (step/total, tokens/s,
// L0, FVU, ETA per run), a plain status line every ~10 s otherwise.
import cliProgress from "cli-progress";
import process from "node:process";
import type { LocalEvent } from "../lib/executor/local.ts";
import type { TrainProgress } from "../lib/train/progress.ts";

/** Seconds between status lines when stderr is not a terminal. */
const PLAIN_INTERVAL_S = 10;

export interface SweepDisplay {
  onEvent(event: LocalEvent): void;
  /** A line above the bars (or a plain stderr line). */
  log(line: string): void;
  stop(): void;
}

function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

function progressFields(p: TrainProgress) {
  return {
    tps: Math.round(p.tokensPerS),
    l0: p.l0.toFixed(1),
    fvu: p.fvu.toFixed(4),
    eta_text: formatEta(p.etaS),
  };
}

/** A display for `total` runs; `tty` picks bars or plain lines. */
export function createSweepDisplay(total: number, options: { tty: boolean }): SweepDisplay {
  let finished = 0;
  const prefix = () => `[${finished}/${total}]`;
  if (options.tty) {
    const multibar = new cliProgress.MultiBar({
      stream: process.stderr,
      format: "{run} |{bar}| {value}/{total} {tps} tok/s  L0 {l0}  FVU {fvu}  ETA {eta_text}",
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
    }, cliProgress.Presets.shades_classic);
    // deno-lint-ignore no-explicit-any
    const bars = new Map<string, any>();
    return {
      onEvent(event) {
        const id = event.plan.runId;
        if (event.type === "start") {
          bars.set(
            id,
            multibar.create(1, 0, { run: id, tps: 0, l0: "-", fvu: "-", eta_text: "?" }),
          );
        } else if (event.type === "progress") {
          const bar = bars.get(id);
          bar?.setTotal(event.progress.totalSteps);
          bar?.update(event.progress.step, progressFields(event.progress));
        } else {
          finished++;
          const bar = bars.get(id);
          if (bar) multibar.remove(bar);
          bars.delete(id);
          const o = event.outcome;
          multibar.log(`${prefix()} ${o.status} ${id} (${o.seconds.toFixed(1)} s)\n`);
        }
      },
      log(line) {
        multibar.log(line + "\n");
      },
      stop() {
        multibar.stop();
      },
    };
  }
  const latest = new Map<string, TrainProgress | undefined>();
  const timer = setInterval(() => {
    for (const [id, p] of latest) {
      if (!p) continue;
      const f = progressFields(p);
      console.error(
        `${prefix()} ${id}: step ${p.step}/${p.totalSteps}  ${f.tps} tok/s  L0 ${f.l0}  FVU ${f.fvu}  ETA ${f.eta_text}`,
      );
    }
  }, PLAIN_INTERVAL_S * 1000);
  return {
    onEvent(event) {
      const id = event.plan.runId;
      if (event.type === "start") {
        latest.set(id, undefined);
        console.error(`${prefix()} start ${id}`);
      } else if (event.type === "progress") latest.set(id, event.progress);
      else {
        finished++;
        latest.delete(id);
        const o = event.outcome;
        console.error(`${prefix()} ${o.status} ${id} (${o.seconds.toFixed(1)} s)`);
      }
    },
    log(line) {
      console.error(line);
    },
    stop() {
      clearInterval(timer);
    },
  };
}
