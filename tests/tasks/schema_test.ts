import assert from "node:assert/strict";
import { renderSchemaFiles } from "../../tasks/schema.ts";
import { ROOT } from "./_spawn.ts";
import { architectureNames } from "../../lib/sae/registry.ts";

Deno.test("committed schema/experiment.schema.json and experiments/README.md match the schema", async () => {
  for (const [path, text] of Object.entries(await renderSchemaFiles())) {
    const committed = await Deno.readTextFile(`${ROOT}${path}`);
    assert.ok(
      committed === text,
      `${path} is stale: run \`deno task schema\` and review the diff (tests/spec/strict_sections_test.ts checks what it must keep)`,
    );
  }
});

Deno.test("the generated JSON Schema lists sweepable keys and refuses unknown sections", async () => {
  const schema = JSON.parse(await Deno.readTextFile(`${ROOT}schema/experiment.schema.json`));
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ["name", "data"]);
  const sweep = schema.properties.sweep.properties;
  assert.equal(sweep["sae.target_l0"].items.exclusiveMinimum, 0);
  // Every registered architecture, in registry order; the registry is the only list of them.
  assert.deepEqual(sweep["sae.architecture"].items.enum, architectureNames());
  assert.ok(architectureNames().length >= 6);
  assert.ok(sweep.zip);
});

Deno.test("the key reference says which keys are required, optional without a default, or defaulted", async () => {
  const md = (await renderSchemaFiles())["experiments/README.md"];
  assert.match(md, /- `name`: [^\n]*; required\./);
  assert.match(
    md,
    /- `train\.lambda\.validation_tokens`: an integer >= 1; optional \(no default\)\./,
  );
  assert.match(md, /- `train\.lambda\.max_drop`: a number >= 1 or null; default `30`\./);
});
