// Run ids: a readable slug of the swept values plus the first 8 hex of sha256 of the canonical
// run identity (effective_config.ts), e.g. `jumprelu-l0_32-s0-3f9a2c1b`
// (`jumprelu-gdm-l0_4-s0-...` with a recipe). Same config, same id, on
// any machine; another architecture's options do not change it. Pure.
import { canonicalHash } from "../spec/spec_hash.ts";
import type { EffectiveConfig } from "../spec/schema.ts";
import { RECIPE_AXIS } from "../spec/resolve.ts";
import { runIdentity } from "./effective_config.ts";

/** Longest slug kept before the hash (ids stay usable as directory names). */
const MAX_SLUG = 80;

/** Lowercases and replaces anything outside [a-z0-9_.-] by `_`. */
export function sanitizeSlug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_.-]+/g, "_").replace(/_+/g, "_");
}

function valueText(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return JSON.stringify(value).slice(0, 24);
  return String(value);
}

/** The slug part of one swept value: `jumprelu`, `l0_32`, `s0`, `bandwidth_0.01`. */
export function slugPart(path: string, value: unknown): string {
  const text = valueText(value);
  if (path === "sae.architecture" || path === RECIPE_AXIS) return sanitizeSlug(text);
  if (path === "sae.target_l0") return sanitizeSlug(`l0_${text}`);
  if (path === "train.seed") return sanitizeSlug(`s${text}`);
  const key = path.split(".").pop() ?? path;
  return sanitizeSlug(`${key}_${text}`);
}

/** Whether the dotted `path` names a key of `config` (an effective config). */
function hasPath(config: unknown, path: string): boolean {
  let node = config;
  for (const seg of path.split(".")) {
    if (node === null || typeof node !== "object" || !(seg in node)) return false;
    node = (node as Record<string, unknown>)[seg];
  }
  return true;
}

/**
 * The swept values (in axis order) that a run with this effective config reads: another
 * architecture's options, or the lambda schedule of a k-sparse run, are left out; a `recipe`
 * stays when the run reads one of its settings (`recipes`: the spec's), so a TopK run on a row
 * of JumpReLU recipes is one run, named without a recipe.
 */
export function readOverrides(
  effective: EffectiveConfig,
  overrides: Readonly<Record<string, unknown>>,
  options: { recipes?: Readonly<Record<string, Readonly<Record<string, unknown>>>> } = {},
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(overrides).filter(([path, value]) =>
      path === RECIPE_AXIS
        ? Object.keys(options.recipes?.[String(value)] ?? {}).some((p) => hasPath(effective, p))
        : hasPath(effective, path)
    ),
  );
}

/**
 * The run id of an effective config (effectiveConfig()) and the overrides (in axis order) that produced it. Swept values
 * the run does not read (another architecture's options) are left out of the slug as well as the
 * hash, so grid points that differ only there are one run. A `recipe` shows as its name (the
 * caller, readOverrides(), keeps it only where the run reads it); the hash is of the config alone,
 * so naming settings with a recipe keeps the hash they had as separate axes.
 */
export function runId(
  effective: EffectiveConfig,
  overrides: Readonly<Record<string, unknown>>,
): string {
  const read = Object.entries(overrides).filter(([path]) =>
    path === RECIPE_AXIS || hasPath(effective, path)
  );
  const slug = read
    .map(([path, value]) => slugPart(path, value)).join("-")
    .slice(0, MAX_SLUG).replace(/[-_.]+$/, "");
  const hash = canonicalHash(runIdentity(effective), 8);
  return `${slug || "run"}-${hash}`;
}
