// Checkpoints: everything needed to resume a run exactly (parameters, optimiser moments, step,
// controller state, data cursor), written so that a crash at any moment leaves the previous
// checkpoint readable: tensors go to `state-<step>.safetensors`, then `latest.json` (atomic) points
// at it, then older files are removed.
import { join } from "node:path";
import { writeJsonAtomic } from "../store/atomic.ts";
import { readSafetensors, writeSafetensors } from "../formats/safetensors.ts";
import type { EngineSnapshot } from "../engine/engine.ts";
import type { HostTensors } from "../sae/types.ts";
import type { ControllerState } from "./controller.ts";
import { DataError } from "../errors.ts";

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
  tensorsFile: string;
}

export interface Checkpoint {
  meta: CheckpointMeta;
  snapshot: EngineSnapshot;
}

const GROUPS = ["params", "state", "m", "v"] as const;

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

export async function saveCheckpoint(
  dir: string,
  checkpoint: { meta: Omit<CheckpointMeta, "tensorsFile">; snapshot: EngineSnapshot },
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const tensorsFile = `state-${checkpoint.meta.step}.safetensors`;
  const tensors = Object.fromEntries(
    Object.entries(flatten(checkpoint.snapshot)).map((
      [k, t],
    ) => [k, { dtype: "F32" as const, shape: t.shape, data: t.data }]),
  );
  await writeSafetensors(join(dir, tensorsFile), tensors, {
    metadata: { format: "saesweep-checkpoint" },
  });
  await writeJsonAtomic(join(dir, "latest.json"), { ...checkpoint.meta, tensorsFile });
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith("state-") && entry.name !== tensorsFile) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}

/** The latest checkpoint in `dir`, or undefined when there is none. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await Deno.readTextFile(join(dir, "latest.json")));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new DataError(`unreadable checkpoint ${join(dir, "latest.json")}: ${e}`, {
      hint: "delete the run's checkpoint/ directory to restart it from scratch",
    });
  }
  const raw = await readSafetensors(join(dir, meta.tensorsFile));
  const groups: Record<string, HostTensors> = { params: {}, state: {}, m: {}, v: {} };
  for (const [key, t] of Object.entries(raw)) {
    const dot = key.indexOf(".");
    groups[key.slice(0, dot)][key.slice(dot + 1)] = { shape: t.shape, data: t.data };
  }
  return {
    meta,
    snapshot: {
      params: groups.params,
      state: groups.state,
      optimizer: { t: meta.optimizerT, m: groups.m, v: groups.v },
    },
  };
}
