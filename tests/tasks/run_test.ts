import assert from "node:assert/strict";
import { parseRunMessage } from "../../lib/executor/run_messages.ts";
import { writeSweepManifest } from "../../lib/executor/sweep_manifest.ts";
import { loadExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";
import { ROOT, runTask } from "./_spawn.ts";

const SPEC = `${ROOT}tests/fixtures/specs/tiny.yaml`;
/** `tasks/run.ts` with the stand-in trainer injected. */
const FAKE_RUN = "tests/fixtures/fake_run.ts";

Deno.test("run --progress jsonl prints progress lines and a final result line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dry = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    const r = await runTask(FAKE_RUN, [SPEC, "--run", id, "--progress", "jsonl"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const messages = r.stdout.trim().split("\n").map(parseRunMessage);
    assert.deepEqual(messages.map((m) => m?.type), ["progress", "progress", "result"]);
    assert.deepEqual(messages.at(-1), { type: "result", status: "done" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run with an unknown id exits 2 and suggests the nearest id", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runTask(FAKE_RUN, [SPEC, "--run", "topk-l0_2-s0"], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /error: no run `topk-l0_2-s0` in .*; did you mean `topk-l0_2-s0-[0-9a-f]{8}`\?/,
    );
    assert.match(r.stderr, /hint: .*--dry-run lists the 4 run ids/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run exits 130 with an interrupted result when SIGINT arrives", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dry = await runTask("sweep", [SPEC, "--dry-run"], { cwd: dir });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--config=${ROOT}deno.json`,
        "-A",
        `${ROOT}${FAKE_RUN}`,
        SPEC,
        "--run",
        id,
        "--progress",
        "jsonl",
      ],
      cwd: dir,
      env: { FAKE_HANG: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("progress")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const status = await child.status;
    await child.stderr.cancel();
    assert.equal(status.code, 130);
    assert.match(text, /\{"type":"result","status":"interrupted"\}/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run trains one run of the tiny spec with the real trainer and marks it DONE", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dry = await runTask("sweep", [SPEC, "--dry-run", "--filter", "architecture=topk"], {
      cwd: dir,
    });
    const id = dry.stdout.split("\n")[1].split(/\s+/)[1];
    const r = await runTask("run", [SPEC, "--run", id, "--progress", "jsonl", "--backend", "cpu"], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n").map(parseRunMessage).at(-1), {
      type: "result",
      status: "done",
    });
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/runs/tiny/${id}/summary.json`));
    assert.equal(summary.run_id, id);
    await Deno.stat(`${dir}/runs/tiny/${id}/DONE`);
    const again = await runTask("sweep", [
      SPEC,
      "--filter",
      "architecture=topk",
      "--filter",
      `target_l0=${summary.l0_target}`,
    ], { cwd: dir });
    assert.match(again.stdout, /^all 1 run already done$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run --manifest --index trains that entry without reading the spec again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(SPEC, `${dir}/tiny.yaml`);
    const plans = expandSweep(await loadExperiment(`${dir}/tiny.yaml`), { outDir: `${dir}/runs` });
    const manifest = await writeSweepManifest(`${dir}/sub`, plans);
    await Deno.remove(`${dir}/tiny.yaml`);
    const r = await runTask(FAKE_RUN, ["--manifest", manifest, "--index", "2"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^done ${plans[2].runId}: `, "m"));
    await Deno.stat(`${plans[2].runDir}/DONE`);
    const trained = (await Deno.readDir(`${dir}/runs/tiny`)[Symbol.asyncIterator]().next()).value;
    assert.equal(trained?.name, plans[2].runId);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("run without a spec and --run, or with --manifest but no --index, exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const none = await runTask(FAKE_RUN, [], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^error: which run\? give a spec and --run <id>$/m);
    const half = await runTask(FAKE_RUN, ["--manifest", "m.json"], { cwd: dir });
    assert.equal(half.code, 2);
    assert.match(
      half.stderr,
      /^error: --manifest and --index go together, without a spec or --run$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
