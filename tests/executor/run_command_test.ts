// The command line of one sweep entry: the project's deno.json, or --no-config for the GPU
// bundle's self-contained run.js.
import assert from "node:assert/strict";
import { runCommand } from "../../lib/executor/run_command.ts";
import { RUN_PERMISSION_FLAGS } from "../../lib/executor/permissions.ts";

Deno.test("runCommand() names the project's deno.json, then permissions, script and manifest", () => {
  const argv = runCommand("/m.json", { runScript: "/p/tasks/run.ts", config: "/p/deno.json" });
  assert.deepEqual(argv, [
    Deno.execPath(),
    "run",
    "--config=/p/deno.json",
    ...RUN_PERMISSION_FLAGS,
    "/p/tasks/run.ts",
    "--manifest",
    "/m.json",
  ]);
});

Deno.test("runCommand() runs a bundled script with --no-config when config is null", () => {
  const argv = runCommand("/m.json", {
    runScript: "/b/run.js",
    config: null,
    extraArgs: ["--engine", "webgpu"],
  });
  assert.equal(argv[2], "--no-config");
  assert.ok(!argv.some((a) => a.startsWith("--config")));
  assert.deepEqual(argv.slice(-5), ["/b/run.js", "--manifest", "/m.json", "--engine", "webgpu"]);
});
