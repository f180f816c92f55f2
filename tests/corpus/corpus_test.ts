// Runs every malformed input of cases.ts through the real command (a subprocess) and checks the
// exit code, the message, the location it names, and that the directory is byte-for-byte
// unchanged afterwards: a refused input writes nothing.
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import canonicalize from "canonicalize";
import { ROOT, runTask } from "../tasks/_spawn.ts";
import { CASES, type CorpusCase, GOOD, type GoodCheckpoint } from "./cases.ts";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every path under `dir` with the sha256 of its contents (or its link target). */
async function snapshot(dir: string, prefix = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = join(prefix, e.name);
    if (e.isSymlink) out[rel] = `-> ${await Deno.readLink(join(dir, rel))}`;
    else if (e.isDirectory) Object.assign(out, { [rel]: "dir" }, await snapshot(dir, rel));
    else out[rel] = await sha256Hex(await Deno.readFile(join(dir, rel)));
  }
  return out;
}

/** The id of the GOOD spec's only run, read from --dry-run (ids are never hard-coded). */
async function goodRunId(dir: string): Promise<string> {
  const dry = await runTask("sweep", ["spec.yaml", "--dry-run"], { cwd: dir });
  assert.equal(dry.code, 0, dry.stderr);
  return dry.stdout.split("\n")[1].split(/\s+/)[1];
}

/** A real checkpoint at step 10 of the GOOD run (the trainer is SIGKILLed at step 13). */
async function goodCheckpoint(dir: string, id: string): Promise<GoodCheckpoint> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--config=${ROOT}deno.json`,
      "-A",
      `${ROOT}tests/fixtures/kill_run.ts`,
      "step:13",
      "spec.yaml",
      "--run",
      id,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
  const ckpt = join(dir, "runs", "c", id, "checkpoint");
  const record = JSON.parse(await Deno.readTextFile(join(ckpt, "latest.json")));
  assert.equal(record.step, 10);
  return {
    record,
    tensorsFile: record.tensorsFile,
    tensors: await Deno.readFile(join(ckpt, record.tensorsFile)),
    async sign(rec) {
      const { recordSha256: _, ...unsigned } = rec;
      const hash = await sha256Hex(new TextEncoder().encode(canonicalize(unsigned)!));
      return { ...unsigned, recordSha256: hash };
    },
  };
}

async function runCase(c: CorpusCase, good: GoodCheckpoint, id: string): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    const files = { ...c.files };
    if (c.checkpoint) {
      files["spec.yaml"] = GOOD;
      for (const [name, content] of Object.entries(await c.checkpoint(good))) {
        files[join("runs", "c", id, "checkpoint", name)] = content;
      }
    }
    for (const [rel, content] of Object.entries(files)) {
      await Deno.mkdir(dirname(join(dir, rel)), { recursive: true });
      if (typeof content === "string") await Deno.writeTextFile(join(dir, rel), content);
      else await Deno.writeFile(join(dir, rel), content);
    }
    for (const [rel, target] of Object.entries(c.symlinks ?? {})) {
      await Deno.symlink(target, join(dir, rel));
    }
    const before = await snapshot(dir);
    const args = c.task === "run" ? ["spec.yaml", "--run", id, ...c.args] : c.args;
    const r = await runTask(c.task ?? "sweep", args, { cwd: dir });
    const problems: string[] = [];
    if (r.code !== c.code) problems.push(`exit ${r.code}, expected ${c.code}`);
    if (!r.stderr.includes(c.message)) problems.push(`message lacks "${c.message}"`);
    if (!r.stderr.includes(c.location)) problems.push(`message lacks location "${c.location}"`);
    if (!/^hint: /m.test(r.stderr) && c.code === 2 && !/unknown option|invalid/.test(r.stderr)) {
      problems.push("no hint");
    }
    if (/this is a bug|TypeError|\n {4}at /.test(r.stderr)) {
      problems.push("raw error or stack trace");
    }
    assert.ok(r.stderr.trim(), `${c.name}: empty stderr`);
    const after = await snapshot(dir);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
      problems.push(`wrote or changed: ${changed.join(", ")}`);
    }
    return problems.map((p) =>
      `${c.name}: ${p}\n${r.stderr.trim().split("\n").slice(0, 6).join("\n")}`
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("every malformed input of the corpus fails with its exit code, message and location, writing nothing", async () => {
  assert.ok(CASES.length >= 40, `${CASES.length} cases`);
  assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, "case names are unique");
  const scratch = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(scratch, "spec.yaml"), GOOD);
    const id = await goodRunId(scratch);
    const good = await goodCheckpoint(scratch, id);
    const failures: string[] = [];
    // SAESWEEP_CORPUS=<regexp> runs only the cases whose name matches it (while fixing one).
    const only = Deno.env.get("SAESWEEP_CORPUS");
    const queue = CASES.filter((c) => !only || new RegExp(only).test(c.name));
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        failures.push(...await runCase(c, good, id));
      }
    };
    await Promise.all([worker(), worker()]);
    assert.deepEqual(failures, [], failures.join("\n\n"));
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});
