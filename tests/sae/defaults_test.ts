// Run ids hash an architecture's option defaults only through `defaultsVersion`
// (lib/sweep/effective_config.ts), so a changed default must come with a version bump. This test
// pins each architecture's defaults per version (fixtures/option_defaults.json) and shows that an
// option left at its default leaves the run id unchanged while a changed value renames the run.
import assert from "node:assert/strict";
import { architectures } from "../../lib/sae/registry.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { expandSweep } from "../../lib/sweep/expand.ts";

const PINNED: Record<string, { version: number; defaults: Record<string, unknown> }> = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/option_defaults.json", import.meta.url)),
);

Deno.test("each architecture's option defaults are those pinned for its defaultsVersion", () => {
  for (const arch of architectures()) {
    const pinned = PINNED[arch.name];
    assert.ok(pinned, `${arch.name}: pin its defaults in tests/sae/fixtures/option_defaults.json`);
    assert.equal(
      arch.defaultsVersion,
      pinned.version,
      `${arch.name}: defaultsVersion changed; pin the new defaults with the new version`,
    );
    const now = arch.options.parse({}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(pinned.defaults)) {
      assert.deepEqual(
        now[key],
        value,
        `${arch.name}.${key}: its default changed without a defaultsVersion bump (run ids would ` +
          "not change although results do): bump defaultsVersion and re-pin",
      );
    }
  }
});

function idOf(options: string): string {
  const text = `name: t\ndata: {source: synthetic}\nsae: {architecture: jumprelu${options}}\n`;
  const loaded = {
    ...parseExperiment(text, "t.yaml"),
    specPath: "t.yaml",
    specDir: "/",
    specHash: "0",
  };
  return expandSweep(loaded, { outDir: "/runs" })[0].runId;
}

Deno.test("an option written at its default keeps the run id; another value renames the run", () => {
  const base = idOf("");
  assert.equal(idOf(", jumprelu: {bandwidth: 0.001, penalty: l0, aux_alpha: 0}"), base);
  assert.notEqual(idOf(", jumprelu: {bandwidth: 0.002}"), base);
  assert.notEqual(idOf(", jumprelu: {penalty: tanh}"), base);
});
