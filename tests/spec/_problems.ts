// The spec tests' reading of a refused spec: every located problem as one string.
import assert from "node:assert/strict";
import { SpecError } from "../../lib/errors.ts";
import { parseExperiment } from "../../lib/spec/load.ts";

/** Parses `text` expecting a SpecError; returns its issues as `line:col path: message` strings. */
export function problems(text: string, options: { maxRuns?: number } = {}): string[] {
  try {
    parseExperiment(text, "x.yaml", options);
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    assert.equal(err.exitCode, 2);
    return err.issues.map((i) => `${i.line}:${i.col} ${i.path}: ${i.message}`);
  }
  assert.fail("expected a SpecError");
}
