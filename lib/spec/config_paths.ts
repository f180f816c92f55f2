// Whether a dotted path names a key of the run config that a sweep axis or a recipe may set, with
// a did-you-mean when it does not. Shared by sweep_axes.ts and recipes.ts. Pure.
import { didYouMean } from "./did_you_mean.ts";
import { experimentSchema } from "./schema.ts";
import { schemaKeys } from "./schema_info.ts";
import { schemaAtData } from "./zod_issues.ts";

/** Top-level keys that describe the experiment rather than a run: not sweepable. */
export const NOT_SWEEPABLE = ["name", "description", "recipes", "sweep", "report", "executor"];

/**
 * Why `path` cannot be set per run (a key of the experiment, or no such key, with the closest
 * one), or null when it names a config key. `raw` is the spec data (it picks union branches).
 */
export function configPathProblem(raw: unknown, path: string): string | null {
  const segments = path.split(".");
  if (NOT_SWEEPABLE.includes(segments[0])) {
    return `\`${segments[0]}\` describes the experiment and cannot be swept`;
  }
  for (let i = 0; i < segments.length; i++) {
    const here = schemaAtData(experimentSchema(), raw, segments.slice(0, i));
    const next = schemaAtData(experimentSchema(), raw, segments.slice(0, i + 1));
    if (!here || !next || segments[i] === "") {
      const known = here ? schemaKeys(here).filter((k) => i > 0 || !NOT_SWEEPABLE.includes(k)) : [];
      const guess = didYouMean(segments[i], known);
      const prefix = segments.slice(0, i).join(".");
      const fix = guess ? `; did you mean \`${[prefix, guess].filter(Boolean).join(".")}\`?` : "";
      return `no config key \`${path}\`${fix}`;
    }
  }
  return null;
}
