import assert from "node:assert/strict";
import { RUN_PERMISSION_FLAGS } from "../../lib/executor/permissions.ts";
import { parseRunMessage } from "../../lib/executor/run_messages.ts";

Deno.test("RUN_PERMISSION_FLAGS match deno.json's run task and grant no network", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const flags = (config.tasks.run.command as string).split(" ").filter((w) =>
    w.startsWith("--allow")
  );
  assert.deepEqual([...RUN_PERMISSION_FLAGS], flags);
  assert.ok(!RUN_PERMISSION_FLAGS.some((f) => f === "-A" || f.startsWith("--allow-net")));
});

Deno.test("parseRunMessage() accepts protocol lines and ignores stray output", () => {
  assert.deepEqual(parseRunMessage('{"type":"result","status":"failed","error":"x"}'), {
    type: "result",
    status: "failed",
    error: "x",
  });
  assert.equal(parseRunMessage("Hi there from tfjs"), undefined);
  assert.equal(parseRunMessage('{"type":"result","status":"weird"}'), undefined);
  assert.equal(parseRunMessage("{not json"), undefined);
});
