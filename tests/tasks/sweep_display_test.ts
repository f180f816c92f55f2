// Tests tasks/_sweep_display.ts against strings written out by hand: the plain status line a
// sweep prints every 10 s when stderr is not a terminal, and the bars drawn on a terminal
// (cli-progress, rendered into a fake terminal stream and read back without escape codes).
import assert from "node:assert/strict";
import { createSweepDisplay, formatEta } from "../../tasks/_sweep_display.ts";
import type { LocalEvent } from "../../lib/executor/local.ts";
import type { RunPlan } from "../../lib/sweep/plan.ts";
import type { TrainProgress } from "../../lib/train/progress.ts";

const plan = (runId: string) => ({ runId }) as RunPlan;

function progress(runId: string, p: Partial<TrainProgress>): LocalEvent {
  return {
    type: "progress",
    plan: plan(runId),
    progress: {
      runId,
      step: 50,
      totalSteps: 200,
      tokensPerS: 12345.6,
      l0: 7.96,
      fvu: 0.123456,
      lambda: null,
      elapsedS: 10,
      etaS: 125,
      ...p,
    },
  };
}

const end = (runId: string, seconds: number): LocalEvent => ({
  type: "end",
  plan: plan(runId),
  outcome: { runId, status: "done", exitCode: 0, seconds },
});

/** A writable that records what is written; `isTTY` and `columns` as a terminal reports them. */
function fakeStream(tty: boolean) {
  const chunks: string[] = [];
  const stream = {
    isTTY: tty,
    columns: 200,
    rows: 40,
    write(chunk: string | Uint8Array) {
      chunks.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
      return true;
    },
    on() {
      return stream;
    },
    once() {
      return stream;
    },
    removeListener() {
      return stream;
    },
    off() {
      return stream;
    },
    emit() {
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WritableStream, text: () => chunks.join("") };
}

Deno.test("formatEta() rounds to the unit it shows", () => {
  assert.equal(formatEta(42.4), "42s");
  assert.equal(formatEta(59.6), "1m00s");
  assert.equal(formatEta(125), "2m05s");
  assert.equal(formatEta(119.6), "2m00s"); // not "1m60s"
  assert.equal(formatEta(3599.7), "1h00m"); // not "59m60s"
  assert.equal(formatEta(4020), "1h07m");
  assert.equal(formatEta(7170), "2h00m"); // 1 h 59.5 min, not "1h60m"
  assert.equal(formatEta(-1), "?");
  assert.equal(formatEta(Infinity), "?");
});

Deno.test("the plain display prints start, one status line per running run each period, and ends", () => {
  const { stream, text } = fakeStream(false);
  let tick = () => {};
  let stopped = false;
  const display = createSweepDisplay(2, {
    tty: false,
    stream,
    every: (ms, fn) => {
      assert.equal(ms, 10_000);
      tick = fn;
      return () => stopped = true;
    },
  });
  display.onEvent({ type: "start", plan: plan("jumprelu-l0_8-s0-aaaa") });
  display.onEvent({ type: "start", plan: plan("topk-l0_8-s0-bbbb") });
  tick(); // no progress yet: nothing to say
  display.onEvent(progress("jumprelu-l0_8-s0-aaaa", {}));
  tick();
  display.onEvent(progress("jumprelu-l0_8-s0-aaaa", { step: 150, etaS: 119.6 }));
  display.onEvent(progress("topk-l0_8-s0-bbbb", { step: 200, tokensPerS: 999.4, fvu: 0.5 }));
  display.onEvent(end("topk-l0_8-s0-bbbb", 12.345));
  tick();
  display.log("warning: something");
  display.stop();
  assert.ok(stopped);
  assert.equal(
    text(),
    [
      "[0/2] start jumprelu-l0_8-s0-aaaa",
      "[0/2] start topk-l0_8-s0-bbbb",
      "[0/2] jumprelu-l0_8-s0-aaaa: step 50/200  12346 tok/s  L0 8.0  FVU 0.1235  ETA 2m05s",
      "[1/2] done topk-l0_8-s0-bbbb (12.3 s)",
      "[1/2] jumprelu-l0_8-s0-aaaa: step 150/200  12346 tok/s  L0 8.0  FVU 0.1235  ETA 2m00s",
      "warning: something",
      "",
    ].join("\n"),
  );
});

Deno.test("the terminal display draws one bar per running run with step, tok/s, L0, FVU and ETA", () => {
  const { stream, text } = fakeStream(true);
  const display = createSweepDisplay(2, { tty: true, stream });
  display.onEvent({ type: "start", plan: plan("jumprelu-l0_8-s0-aaaa") });
  display.onEvent({ type: "start", plan: plan("topk-l0_8-s0-bbbb") });
  display.onEvent(progress("jumprelu-l0_8-s0-aaaa", {}));
  display.onEvent(progress("topk-l0_8-s0-bbbb", { step: 200, tokensPerS: 999.4, fvu: 0.5 }));
  display.onEvent(end("topk-l0_8-s0-bbbb", 12.345));
  display.stop(); // draws the final frame
  // What was drawn, without cursor movements and colours; the last drawing of each bar counts.
  // deno-lint-ignore no-control-regex
  const plain = text().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  const lines = plain.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.length);
  assert.ok(lines.includes("[1/2] done topk-l0_8-s0-bbbb (12.3 s)"), lines.join("\n"));
  // 50 of 200 steps on a 20-character bar: 5 filled, 15 empty (shades_classic).
  const bar = "\u2588".repeat(5) + "\u2591".repeat(15);
  assert.equal(
    lines.filter((l) => l.startsWith("jumprelu-l0_8-s0-aaaa |")).at(-1),
    `jumprelu-l0_8-s0-aaaa |${bar}| 50/200 12346 tok/s  L0 8.0  FVU 0.1235  ETA 2m05s`,
  );
});
