// Every map of the spec refuses unknown keys (DESIGN.md section 2). The sections are found by
// walking the zod schema itself, so a section added later is covered without editing this file,
// and each is checked through parseExperiment() with a key it cannot have. The generated JSON
// Schema is checked for the same property on its own, so regenerating it after a section lost
// its strictness cannot make the schema sync test pass.
import assert from "node:assert/strict";
import { SpecError } from "../../lib/errors.ts";
import { parseExperiment } from "../../lib/spec/load.ts";
import { experimentSchema } from "../../lib/spec/schema.ts";
import { ROOT } from "../tasks/_spawn.ts";

// deno-lint-ignore no-explicit-any
type Def = Record<string, any>;
const defOf = (schema: unknown): Def => (schema as { _zod: { def: Def } })._zod.def;

/** A map of the spec: its dotted path and, inside a discriminated union, the variant to pick. */
interface Section {
  path: string[];
  /** Discriminator keys and values on the way (e.g. data.source = "lm"). */
  variants: { at: string[]; key: string; value: string }[];
}

function sections(schema: unknown, path: string[] = [], variants: Section["variants"] = []) {
  let def = defOf(schema);
  while (["default", "prefault", "optional", "nullable", "readonly"].includes(def.type)) {
    def = defOf(def.innerType);
  }
  const out: Section[] = [];
  if (def.type === "object") {
    out.push({ path, variants });
    for (const [key, child] of Object.entries(def.shape)) {
      out.push(...sections(child, [...path, key], variants));
    }
  } else if (def.type === "union" && !def.discriminator) {
    // A union of a map and other forms (data.train_text: a list of files or {sample: ...}).
    for (const option of def.options) out.push(...sections(option, path, variants));
  } else if (def.type === "union") {
    for (const option of def.options) {
      const literal = defOf(defOf(option).shape[def.discriminator]);
      const value = literal.values?.[0] ?? defOf(literal.innerType).values[0];
      out.push(
        ...sections(option, path, [...variants, { at: path, key: def.discriminator, value }]),
      );
    }
  }
  return out;
}

const SECTIONS = sections(experimentSchema());
const UNKNOWN = "zz_not_a_key";

/** A minimal spec with `UNKNOWN` inside the section (as JSON, which is YAML 1.2). */
function specWithUnknownKey(section: Section): string {
  const spec: Record<string, unknown> = { name: "t", data: { source: "synthetic" } };
  const at = (path: string[]) => {
    let node = spec;
    for (const key of path) node = (node[key] ??= {}) as Record<string, unknown>;
    return node;
  };
  for (const v of section.variants) at(v.at)[v.key] = v.value;
  at(section.path)[UNKNOWN] = 1;
  return JSON.stringify(spec, null, 1);
}

Deno.test("the schema walk finds every section of the spec", () => {
  const names = SECTIONS.map((s) =>
    s.path.join(".") + s.variants.map((v) => `[${v.key}=${v.value}]`).join("")
  );
  for (
    const expected of [
      "",
      "data[source=synthetic]",
      "data[source=files]",
      "data[source=lm]",
      "data.train_text[source=lm]",
      "data.train_text.sample[source=lm]",
      "sae",
      "sae.jumprelu",
      "sae.topk",
      "train",
      "train.lambda",
      "eval",
      "report",
      "executor",
      "executor.slurm",
    ]
  ) assert.ok(names.includes(expected), `${expected} missing from ${names.join(", ")}`);
});

for (const section of SECTIONS) {
  const where = section.path.join(".") || "the top level";
  const variant = section.variants.map((v) => ` (${v.key}: ${v.value})`).join("");
  Deno.test(`parseExperiment() refuses an unknown key in ${where}${variant}`, () => {
    const key = [...section.path, UNKNOWN].join(".");
    try {
      parseExperiment(specWithUnknownKey(section), "x.yaml");
    } catch (err) {
      assert.ok(err instanceof SpecError, String(err));
      const found = err.issues.map((i) => `${i.path}: ${i.message}`);
      assert.ok(
        found.some((f) => f.startsWith(`${key}: unknown key`)),
        `${key} not refused; problems: ${found.join(" | ")}`,
      );
      return;
    }
    assert.fail(`${key} was accepted`);
  });
}

Deno.test("parseExperiment() refuses an unknown config path in sweep and in a zip group", () => {
  // sweep is a map keyed by config paths, checked against the schema instead of by strictness.
  const spec = JSON.stringify({
    name: "t",
    data: { source: "synthetic" },
    sweep: {
      [`sae.${UNKNOWN}`]: [1],
      zip: [{ "sae.width": [1, 2], [`train.${UNKNOWN}`]: [1, 2] }],
    },
  });
  try {
    parseExperiment(spec, "x.yaml");
  } catch (err) {
    assert.ok(err instanceof SpecError, String(err));
    assert.deepEqual(err.issues.map((i) => `${i.path}: ${i.message}`), [
      `sweep.sae.${UNKNOWN}: no config key \`sae.${UNKNOWN}\``,
      `sweep.zip[0].train.${UNKNOWN}: no config key \`train.${UNKNOWN}\``,
    ]);
    return;
  }
  assert.fail("unknown sweep paths were accepted");
});

/**
 * Maps of the JSON Schema whose keys are config paths (sweep axes, zip groups): they list every
 * known path but allow others, which architectures registered by a library user add; the
 * validator checks them (test above).
 */
const PATH_MAPS = ["properties/sweep", "properties/sweep/properties/zip/items"];

Deno.test("every object of the committed JSON Schema forbids additional properties", async () => {
  const schema = JSON.parse(await Deno.readTextFile(`${ROOT}schema/experiment.schema.json`));
  const loose: string[] = [];
  let objects = 0;
  // deno-lint-ignore no-explicit-any
  const visit = (node: any, path: string) => {
    if (node === null || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${path}[${i}]`));
    if (node.properties && typeof node.properties === "object") {
      objects++;
      if (node.additionalProperties !== false) loose.push(path || "(root)");
    }
    for (const [k, v] of Object.entries(node)) visit(v, path ? `${path}/${k}` : k);
  };
  visit(schema, "");
  assert.ok(objects >= SECTIONS.length, `${objects} objects`);
  assert.deepEqual(loose, PATH_MAPS, "only the config-path maps may accept other keys");
});
