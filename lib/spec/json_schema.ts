// Generates the JSON Schema of experiment specs from the zod schema (the same source as the
// validator), with every sweepable key listed under `sweep` so editors can autocomplete axes.
import { z } from "zod";
import { experimentSchema } from "./schema.ts";
import { leafPaths } from "./schema_info.ts";
import { RECIPE_FIXED_KEYS } from "./recipes.ts";

/** Top-level sections whose keys can be swept. */
export const SWEEPABLE_SECTIONS = ["data", "sae", "train", "eval"] as const;

/** Every sweepable leaf path (`sae.target_l0`, `train.seed`, ...) with its schema. */
export function sweepableLeaves(): { path: string; schema: z.ZodType }[] {
  return leafPaths(experimentSchema()).filter((leaf) =>
    (SWEEPABLE_SECTIONS as readonly string[]).includes(leaf.path.split(".")[0])
  ) as { path: string; schema: z.ZodType }[];
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  delete out.$schema;
  return out;
}

/** The JSON Schema (draft 2020-12) of an experiment spec file. */
export function experimentJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(experimentSchema(), { io: "input" }) as Record<string, unknown>;
  const axisProperties: Record<string, unknown> = {};
  const recipeProperties: Record<string, unknown> = {};
  for (const leaf of sweepableLeaves()) {
    const item = jsonSchemaOf(leaf.schema);
    delete item.default;
    if (!RECIPE_FIXED_KEYS.includes(leaf.path)) recipeProperties[leaf.path] = item;
    axisProperties[leaf.path] = {
      description: `Values of ${leaf.path}, one run each`,
      type: "array",
      minItems: 1,
      items: item,
    };
  }
  const axisList = { type: "array", minItems: 1, description: "Values of this config path" };
  const properties = schema.properties as Record<string, unknown>;
  properties.recipes = {
    ...(properties.recipes as Record<string, unknown>),
    additionalProperties: {
      description: `A recipe: dotted config path -> value (not ${RECIPE_FIXED_KEYS.join(", ")})`,
      type: "object",
      minProperties: 1,
      properties: recipeProperties,
      additionalProperties: false,
    },
  };
  properties.sweep = {
    description: "Sweep axes: dotted config path -> non-empty list of values; the runs are the " +
      "cartesian product of the axes. `zip` lists groups of axes that move together; " +
      "`exclude` lists rules that leave points out.",
    type: "object",
    default: {},
    properties: {
      ...axisProperties,
      recipe: {
        description: "Names of recipes (keys of `recipes`), one run each",
        type: "array",
        minItems: 1,
        items: { type: "string" },
      },
      exclude: {
        description: "Rules that leave grid points out: each maps swept axes to a value or a " +
          "list of values, and a point matching every entry of a rule is not a run",
        type: "array",
        minItems: 1,
        items: { type: "object", minProperties: 1 },
      },
      zip: {
        description: "Groups of axes that move together; lists within a group have equal length",
        type: "array",
        items: {
          type: "object",
          minProperties: 1,
          properties: axisProperties,
          additionalProperties: axisList,
        },
      },
    },
    additionalProperties: axisList,
  };
  return {
    $schema: schema.$schema,
    $id: "https://saesweep.dev/schema/experiment.schema.json",
    title: "saesweep experiment spec",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}

/** The schema as the text of `schema/experiment.schema.json`. */
export function experimentJsonSchemaText(): string {
  return JSON.stringify(experimentJsonSchema(), null, 2) + "\n";
}
