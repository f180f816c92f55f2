// reportError() of tasks/_cli.ts: what a task prints and which exit code it picks per error kind.
import assert from "node:assert/strict";
import { reportError } from "../../tasks/_cli.ts";

function captured(err: unknown): { code: number; lines: string[] } {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    return { code: reportError(err), lines };
  } finally {
    console.error = original;
  }
}

Deno.test("reportError() prints an operating system error with a hint, not as a bug", () => {
  const err = Object.assign(new Error("No space left on device (os error 28): write 'x'"), {
    code: "ENOSPC",
  });
  const { code, lines } = captured(err);
  assert.equal(code, 1);
  assert.deepEqual(lines, [
    "error: No space left on device (os error 28): write 'x'",
    "hint: free disk space, then re-run the same command: finished runs are kept, others resume",
  ]);
});

Deno.test("reportError() prints a failed allocation as out of memory, not as a bug", () => {
  let err: unknown;
  try {
    new ArrayBuffer(2 ** 60);
  } catch (e) {
    err = e;
  }
  const { code, lines } = captured(err);
  assert.equal(code, 1);
  assert.match(lines[0], /^error: out of memory: /);
  assert.match(lines[1], /^hint: lower eval\.tokens/);
  assert.doesNotMatch(lines.join("\n"), /this is a bug/);
});

Deno.test("reportError() calls an unexpected exception a bug, with its stack", () => {
  const { code, lines } = captured(new TypeError("x is undefined"));
  assert.equal(code, 1);
  assert.match(lines[0], /^error: TypeError: x is undefined\n {4}at /);
  assert.match(lines[1], /this is a bug/);
});
