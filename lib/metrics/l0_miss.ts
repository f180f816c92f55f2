// When a run missed its L0 target, defined once: the signed relative miss that training records
// (summary.json `l0_rel_error`) and the tolerance rule that training's warnings and the report's
// flags share (`report.l0_tolerance`, default `DEFAULT_L0_TOLERANCE`). Pure.

/** Default of `report.l0_tolerance`: a run within 10% of its target L0 hit it. */
export const DEFAULT_L0_TOLERANCE = 0.1;

/** Signed relative miss (l0 - targetL0) / targetL0: below 0 when the SAE is sparser than asked. */
export function l0RelError(l0: number, targetL0: number): number {
  return (l0 - targetL0) / targetL0;
}

/**
 * Whether a run whose relative miss is `relError` (`l0RelError()`) missed its target L0: its
 * achieved L0 is further than `tolerance` (relative) from the target, either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { l0RelError, missedTargetL0 } from "./l0_miss.ts";
 * assert.equal(missedTargetL0(l0RelError(14.5, 16)), false); // 9.4% below: within 10%
 * assert.equal(missedTargetL0(l0RelError(14, 16)), true); // 12.5% below
 * assert.equal(missedTargetL0(l0RelError(14.5, 16), { tolerance: 0.05 }), true);
 * ```
 */
export function missedTargetL0(
  relError: number,
  options: { tolerance?: number } = {},
): boolean {
  return Math.abs(relError) > (options.tolerance ?? DEFAULT_L0_TOLERANCE);
}
