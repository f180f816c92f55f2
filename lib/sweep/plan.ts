// A RunPlan is one expanded run of a spec plus where it lives: the unit the executor schedules and
// the trainer trains. Types only; `expand.ts` builds them.
import type { EffectiveConfig, RunConfig } from "../spec/schema.ts";

export interface RunPlan {
  /** Readable slug of the swept values plus a short config hash, e.g. `jumprelu-l0_32-s0-3f9a2c1b`. */
  runId: string;
  /** 0-based position in the expanded sweep (stable for a given spec). */
  index: number;
  /** Fully resolved configuration (data paths as written in the spec). */
  config: RunConfig;
  /**
   * What the run reads (sweep/effective_config.ts), built once from `config`: its id hashes it and
   * run.json records it. Absent in plans of sweep manifests written before it was recorded.
   */
  effective?: EffectiveConfig;
  /** The swept values that produced this run and that it reads (run_id.ts readOverrides()). */
  overrides: Record<string, unknown>;
  /** Spec path as given by the user, and its directory (relative data paths resolve against it). */
  specPath: string;
  specDir: string;
  /** Short hash of the canonical validated spec. */
  specHash: string;
  /** Absolute run directory `<out>/<experiment>/<runId>`. */
  runDir: string;
  /**
   * The spec's `report.l0_tolerance`, so that training warns of a missed target L0 by the rule the
   * report flags it with (lib/metrics/l0_miss.ts); not part of the config, so no run id hashes it.
   * Absent in plans of sweep manifests written before it was recorded (then the default).
   */
  l0Tolerance?: number;
}
