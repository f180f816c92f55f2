// Checkpoints: everything needed to resume a run exactly (parameters, optimiser moments, step,
// controller state, data cursor), written so that a crash at any moment leaves a good checkpoint:
// tensors go to `state-<step>.safetensors` (atomic), the previous `latest.json` becomes
// `previous.json`, then `latest.json` (atomic) points at the new file, then unreferenced files
// go. Each record carries the sha256 of its tensors and of itself and the shape of the run; a
// checkpoint that fails any check is skipped for the previous one, and the caller is told.
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../store/atomic.ts";
import { sha256Hex } from "../store/checksum.ts";
import { canonicalHash } from "../spec/spec_hash.ts";
import { encodeSafetensors, readSafetensors } from "../formats/safetensors.ts";
import type { EngineSnapshot } from "../engine/engine.ts";
import type { HostTensors } from "../sae/types.ts";
import type { ControllerState } from "./controller.ts";
import { DataError, SaeSweepError } from "../errors.ts";
import { faultPoint } from "./fault_points.ts";

export interface CheckpointMeta {
  /** Steps completed. */
  step: number;
  controller: ControllerState | null;
  cursor: unknown;
  normScale: number;
  /** Adam steps taken. */
  optimizerT: number;
  /** Training seconds so far (for tokens/s across resumptions). */
  trainSeconds: number;
  /** What the checkpoint was written for; a run of another shape refuses it. */
  architecture: string;
  width: number;
  dModel: number;
}

/** A checkpoint record as stored in latest.json / previous.json. */
interface CheckpointRecord extends CheckpointMeta {
  version: 2;
  tensorsFile: string;
  tensorsBytes: number;
  tensorsSha256: string;
  /** sha256 of the canonical JSON of this record without this field. */
  recordSha256: string;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  snapshot: EngineSnapshot;
  /**
   * State tensors the checkpoint lacked and that were started fresh from the run's initial state
   * (a clock added to an architecture after the checkpoint was written).
   */
  stateFilled?: string[];
}

/** What the run resuming a checkpoint expects of it. */
export interface CheckpointExpect {
  architecture: string;
  width: number;
  dModel: number;
  totalSteps: number;
  /** Parameters and state of a fresh SAE of this run (only shapes are compared). */
  params: HostTensors;
  state: HostTensors;
}

export interface LoadedCheckpoint extends Checkpoint {
  /** Set when latest.json was unusable and previous.json was used: why. */
  fellBack?: string;
}

const GROUPS = ["params", "state", "m", "v"] as const;
/** State that a resumed run may start afresh when its checkpoint lacks it. */
const FRESH_STATE = ["since_fired"];
const RECORDS = ["latest.json", "previous.json"] as const;
const TENSORS_FILE = /^state-\d+\.safetensors$/;

function recordHash(record: Omit<CheckpointRecord, "recordSha256">): string {
  return canonicalHash(record, 64);
}

function flatten(snapshot: EngineSnapshot): HostTensors {
  const out: HostTensors = {};
  const groups: Record<(typeof GROUPS)[number], HostTensors> = {
    params: snapshot.params,
    state: snapshot.state,
    m: snapshot.optimizer.m,
    v: snapshot.optimizer.v,
  };
  for (const g of GROUPS) {
    for (const [name, t] of Object.entries(groups[g])) out[`${g}.${name}`] = t;
  }
  return out;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

export async function saveCheckpoint(
  dir: string,
  checkpoint: { meta: CheckpointMeta; snapshot: EngineSnapshot },
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { step } = checkpoint.meta;
  const tensorsFile = `state-${step}.safetensors`;
  const tensors = Object.fromEntries(
    Object.entries(flatten(checkpoint.snapshot)).map((
      [k, t],
    ) => [k, { dtype: "F32" as const, shape: t.shape, data: t.data }]),
  );
  const bytes = encodeSafetensors(tensors, { metadata: { format: "saesweep-checkpoint" } });
  await writeFileAtomic(join(dir, tensorsFile), bytes);
  await faultPoint("checkpoint-tensors", step);
  const unsigned = {
    version: 2 as const,
    ...checkpoint.meta,
    tensorsFile,
    tensorsBytes: bytes.length,
    tensorsSha256: sha256Hex(bytes),
  };
  const record: CheckpointRecord = { ...unsigned, recordSha256: recordHash(unsigned) };
  const latest = await readText(join(dir, "latest.json"));
  if (latest !== undefined && !latest.includes(`"${tensorsFile}"`)) {
    await writeFileAtomic(join(dir, "previous.json"), latest);
  }
  await faultPoint("checkpoint-previous", step);
  await writeJsonAtomic(join(dir, "latest.json"), record);
  await faultPoint("checkpoint-latest", step);
  await removeUnreferenced(dir);
}

/** Removes state files that neither latest.json nor previous.json names. */
async function removeUnreferenced(dir: string): Promise<void> {
  const keep = new Set<string>();
  for (const name of RECORDS) {
    const m = (await readText(join(dir, name)))?.match(/"tensorsFile":\s*"([^"]+)"/);
    if (m) keep.add(m[1]);
  }
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("state-") && !keep.has(entry.name)) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}

function shapeText(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}

/** Problems of a group of tensors against the expected ones (names and shapes). */
function compareShapes(group: string, got: HostTensors, want: HostTensors): string[] {
  const problems: string[] = [];
  for (const [name, t] of Object.entries(want)) {
    const g = got[name];
    if (!g) problems.push(`${group}.${name} is missing`);
    else if (shapeText(g.shape) !== shapeText(t.shape)) {
      problems.push(
        `${group}.${name} has shape ${shapeText(g.shape)}, expected ${shapeText(t.shape)}`,
      );
    }
  }
  for (const name of Object.keys(got)) {
    if (!(name in want)) problems.push(`${group}.${name} is not a tensor of this run`);
  }
  return problems;
}

/** Refuses a record written for another architecture or shape, or with an impossible step. */
function checkFacts(name: string, record: CheckpointRecord, expect: CheckpointExpect): void {
  const facts = `${record.architecture} width ${record.width} d_model ${record.dModel}`;
  const want = `${expect.architecture} width ${expect.width} d_model ${expect.dModel}`;
  if (facts !== want) throw new DataError(`${name} was written for ${facts}; this run is ${want}`);
  if (!Number.isSafeInteger(record.step) || record.step < 0 || record.step > expect.totalSteps) {
    throw new DataError(`${name} is at step ${record.step}, outside 0..${expect.totalSteps}`);
  }
}

/** Problems of optimiser moments: each must belong to a parameter and have its shape. */
function compareMoments(group: string, got: HostTensors, params: HostTensors): string[] {
  const want = Object.fromEntries(
    Object.keys(got).filter((k) => k in params).map((k) => [k, params[k]]),
  );
  return compareShapes(group, got, want);
}

/** Reads and checks one checkpoint record; throws a DataError saying what is wrong. */
async function readRecord(
  dir: string,
  name: string,
  expect: CheckpointExpect | undefined,
): Promise<Checkpoint> {
  const text = await readText(join(dir, name));
  if (text === undefined) throw new DataError(`${name} does not exist`);
  let record: CheckpointRecord;
  try {
    record = JSON.parse(text);
  } catch {
    throw new DataError(`${name} is not valid JSON (truncated or garbled)`);
  }
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    throw new DataError(
      `${name} does not hold a checkpoint record (got ${text.trim().slice(0, 40)})`,
    );
  }
  // Written before checksums existed (no version): trusted as then, but shapes are still checked.
  const legacy = record.version === undefined && "tensorsFile" in record;
  if (legacy && expect) {
    Object.assign(record, {
      architecture: expect.architecture,
      width: expect.width,
      dModel: expect.dModel,
    });
  }
  if (!legacy && record.version !== 2) {
    throw new DataError(`${name} has an unknown format (version ${record.version})`);
  }
  const { recordSha256, ...unsigned } = record;
  if (!legacy && recordSha256 !== recordHash(unsigned)) {
    throw new DataError(`${name} was modified after it was written (checksum mismatch)`);
  }
  if (typeof record.tensorsFile !== "string" || !TENSORS_FILE.test(record.tensorsFile)) {
    throw new DataError(
      `${name} names ${JSON.stringify(record.tensorsFile)}, not a state file of this directory`,
    );
  }
  if (expect) checkFacts(name, record, expect);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(dir, record.tensorsFile));
  } catch {
    throw new DataError(`${record.tensorsFile} (named by ${name}) is missing`);
  }
  if (
    !legacy &&
    (bytes.length !== record.tensorsBytes || sha256Hex(bytes) !== record.tensorsSha256)
  ) {
    throw new DataError(
      `${record.tensorsFile} does not match ${name} (${bytes.length} bytes, checksum mismatch)`,
    );
  }
  const raw = await readSafetensors(join(dir, record.tensorsFile));
  const groups: Record<string, HostTensors> = { params: {}, state: {}, m: {}, v: {} };
  for (const [key, t] of Object.entries(raw)) {
    const dot = key.indexOf(".");
    const group = groups[key.slice(0, dot)];
    if (!group) throw new DataError(`${record.tensorsFile} holds an unknown tensor ${key}`);
    group[key.slice(dot + 1)] = { shape: t.shape, data: t.data };
  }
  // A dead-latent clock added to an architecture since the checkpoint (JumpReLU keeps one for its
  // health statistics) starts fresh, as in a new run; the caller says so. Other missing state is
  // an error: it may hold values resolved from data that a fresh copy would not have.
  const stateFilled: string[] = [];
  for (const [name, t] of Object.entries(expect?.state ?? {})) {
    if (groups.state[name] || !FRESH_STATE.includes(name)) continue;
    groups.state[name] = { shape: [...t.shape], data: new Float32Array(t.data) };
    stateFilled.push(name);
  }
  const problems = expect
    ? [
      ...compareShapes("params", groups.params, expect.params),
      ...compareShapes("state", groups.state, expect.state),
      ...compareMoments("m", groups.m, expect.params),
      ...compareMoments("v", groups.v, expect.params),
    ]
    : [];
  if (problems.length) throw new DataError(`${record.tensorsFile}: ${problems.join("; ")}`);
  const { version: _v, tensorsFile: _f, tensorsBytes: _b, tensorsSha256: _s, ...meta } = unsigned;
  return {
    meta,
    snapshot: {
      params: groups.params,
      state: groups.state,
      optimizer: { t: record.optimizerT, m: groups.m, v: groups.v },
    },
    ...(stateFilled.length ? { stateFilled } : {}),
  };
}

/**
 * The newest good checkpoint in `dir` (latest.json, else previous.json, saying why in
 * `fellBack`), or undefined when `dir` holds none. Without `expect`, only the checksums and the
 * file layout are checked, not the run's shape. Throws a DataError naming every problem when
 * checkpoints exist but none is usable.
 */
export async function loadCheckpoint(
  dir: string,
  expect?: CheckpointExpect,
): Promise<LoadedCheckpoint | undefined> {
  const present: string[] = [];
  for (const name of RECORDS) {
    if ((await readText(join(dir, name))) !== undefined) present.push(name);
  }
  if (present.length === 0) return undefined;
  const problems: string[] = [];
  for (const name of RECORDS) {
    try {
      const checkpoint = await readRecord(dir, name, expect);
      return problems.length ? { ...checkpoint, fellBack: problems.join("; ") } : checkpoint;
    } catch (err) {
      if (!(err instanceof SaeSweepError)) throw err;
      problems.push(err.message);
    }
  }
  throw new DataError(`no usable checkpoint in ${dir}: ${problems.join("; ")}`, {
    hint: "start the run over: deno task sweep <spec> --restart <run id>",
  });
}
