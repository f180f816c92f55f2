// Live progress of a local sweep on stderr: cli-progress bars on a terminal (step/total, tokens/s,
// L0, FVU, ETA per run), a plain status line every ~10 s otherwise.
import cliProgress from "cli-progress";
import process from "node:process";
import type { LocalEvent } from "../lib/executor/local.ts";
import type { TrainProgress } from "../lib/train/progress.ts";
import type { DataProgress } from "../lib/data/source.ts";

/** Seconds between status lines when stderr is not a terminal. */
const PLAIN_INTERVAL_S = 10;

export interface SweepDisplay {
  onEvent(event: LocalEvent): void;
  /** A line above the bars (or a plain stderr line). */
  log(line: string): void;
  stop(): void;
}

/** `42s`, `2m05s`, `1h07m`: rounded to the unit shown, so never `1m60s`. */
export function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  const secs = Math.round(s);
  if (secs < 60) return `${secs}s`;
  if (secs < 3600) return `${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, "0")}s`;
  const mins = Math.round(s / 60);
  return `${Math.floor(mins / 60)}h${String(mins % 60).padStart(2, "0")}m`;
}

/** One line of data-preparation progress: `sampling train text: 12% (256512/2097152 tokens), ETA 14m02s`. */
export function formatDataProgress(p: DataProgress): string {
  const pct = p.total > 0 ? Math.floor((100 * p.done) / p.total) : 100;
  return `${p.what}: ${pct}% (${p.done}/${p.total} ${p.unit}), ${formatEta(p.elapsedSeconds)} ` +
    `elapsed, ETA ${formatEta(p.etaSeconds)}`;
}

function progressFields(p: TrainProgress) {
  return {
    tps: Math.round(p.tokensPerS),
    l0: p.l0.toFixed(1),
    fvu: p.fvu.toFixed(4),
    eta_text: formatEta(p.etaS),
  };
}

export interface SweepDisplayOptions {
  /** Bars on a terminal, else a plain status line per running run every PLAIN_INTERVAL_S. */
  tty: boolean;
  /** Where the display writes (default: process.stderr); bars need a terminal stream. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Calls `fn` every `ms` until the returned function is called (default: setInterval). */
  every?: (ms: number, fn: () => void) => () => void;
}

function everyInterval(ms: number, fn: () => void): () => void {
  const timer = setInterval(fn, ms);
  return () => clearInterval(timer);
}

/** A display for `total` runs; `tty` picks bars or plain lines. */
export function createSweepDisplay(total: number, options: SweepDisplayOptions): SweepDisplay {
  const stream = options.stream ?? process.stderr;
  const println = (line: string) => void stream.write(line + "\n");
  let finished = 0;
  const prefix = () => `[${finished}/${total}]`;
  if (options.tty) {
    const multibar = new cliProgress.MultiBar({
      stream,
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
        // Lines logged since the last redraw wait in cli-progress's buffer, which stop() does not
        // flush: without this redraw the last run's "done" line never reached the terminal.
        multibar.update();
        multibar.stop();
      },
    };
  }
  const latest = new Map<string, TrainProgress | undefined>();
  const stopTimer = (options.every ?? everyInterval)(PLAIN_INTERVAL_S * 1000, () => {
    for (const [id, p] of latest) {
      if (!p) continue;
      const f = progressFields(p);
      println(
        `${prefix()} ${id}: step ${p.step}/${p.totalSteps}  ${f.tps} tok/s  L0 ${f.l0}  FVU ${f.fvu}  ETA ${f.eta_text}`,
      );
    }
  });
  return {
    onEvent(event) {
      const id = event.plan.runId;
      if (event.type === "start") {
        latest.set(id, undefined);
        println(`${prefix()} start ${id}`);
      } else if (event.type === "progress") latest.set(id, event.progress);
      else {
        finished++;
        latest.delete(id);
        const o = event.outcome;
        println(`${prefix()} ${o.status} ${id} (${o.seconds.toFixed(1)} s)`);
      }
    },
    log(line) {
      println(line);
    },
    stop() {
      stopTimer();
    },
  };
}
